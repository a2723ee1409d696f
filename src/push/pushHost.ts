/**
 * One host's push, from connecting to its result: read what is there, decide (decide.ts), then
 * nothing, a repair from the file, or write → commit → verify → confirm (commit.ts). Every host
 * ends as a HostResult, whatever happens — a bug in routegen included.
 */
import { posix } from 'node:path';
import type { RemoteHost } from '../remote/connection.js';
import type { StackModule } from '../stacks/index.js';
import type { HostPlan } from '../types.js';
import { CommitFailure, commitHost } from './commit.js';
import { decide, type RunMode } from './decide.js';
import { describeError, StepError } from './failure.js';
import { conflictError, parseHostFacts, routeConflicts, type HostFacts } from './guard.js';
import { connect, ensureHostScript, FACTS_SCRIPT, HostHelper, preflight, requirePrivilege, resolveHost } from './hostAccess.js';
import { connectName, countChanges, familiesOf, ownedRoutes, plannedFile, stateKey, unifiedDiff } from './hostFile.js';
import { checkRoutes, describeRouteCheck, routeCheckOk } from './kernel.js';
import { EXIT, stateFile, type Families } from './protocol.js';
import { verify } from './verify.js';
import { stepClock, type HostResult, type Outcome, type PushOptions } from './result.js';

export type { HostResult, Outcome, PushOptions, Step } from './result.js';

/** The host's routing table and SSH peer (guard.ts): from the helper when routegen logs in as
 * root, else as the login user (sudo would drop SSH_CONNECTION). */
async function hostFacts(conn: RemoteHost, helper: HostHelper | undefined, h: HostPlan, families: Families): Promise<HostFacts> {
  const r = helper && conn.user === 'root' ? await helper.run('facts', { families }) : await conn.execScript(FACTS_SCRIPT, []);
  if (r.code !== EXIT.ok) throw new StepError('check', `cannot read the routing table of ${h.name} (exit ${r.code})`, r.stderr);
  return parseHostFacts(r.stdout);
}

/** Stops the host, before anything is written, when the plan would take traffic that is not
 * the pods' (guard.ts); `owned`: the destinations routegen's file on the host has now. */
function refuseConflicts(facts: HostFacts, h: HostPlan, owned: string[], result: HostResult): void {
  const problems = routeConflicts(facts, h.routes, h.settings.interface!, owned);
  if (problems.length === 0) return;
  result.problems = problems;
  const e = conflictError(h.name, problems);
  throw new StepError('check', e.message, undefined, e.hint);
}

/** Removes what an interrupted earlier push may have left beside the target: its temp and
 * staged files (hidden from the stack, but litter all the same). Returns the staging name. */
async function clearLeftovers(conn: RemoteHost, stack: StackModule, path: string): Promise<string> {
  const dir = posix.dirname(path);
  const staging = posix.join(dir, stack.hiddenName(posix.basename(path), 'routegen-new'));
  if (await conn.stat(dir)) {
    for (const name of await conn.list(dir)) {
      if (/^\.routegen-[0-9a-f]+\.tmp$/.test(name) || posix.join(dir, name) === staging) await conn.remove(posix.join(dir, name));
    }
  }
  return staging;
}

/**
 * Pushes one host's file on one connection: check the stack, read the current file, and when it
 * differs upload it, then commit, verify and confirm (commit.ts). Any failure after arming rolls
 * back at once; if routegen dies, the host rolls back by itself when the timer fires.
 */
export async function pushHost(h0: HostPlan, opts: PushOptions): Promise<HostResult> {
  const t0 = Date.now();
  const result: HostResult = { host: h0.name, address: connectName(h0), outcome: 'failed', routes: h0.routes.length, seconds: 0 };
  const step = stepClock(h0.name, result, opts.onStep);
  const mode: RunMode = opts.diffOnly ? 'diff' : opts.dryRun ? 'dry-run' : 'push';
  let where = 'connect';
  let conn: RemoteHost | undefined;
  let helper: HostHelper | undefined;
  let outcome: Outcome = 'failed';
  try {
    step('connecting');
    conn = await connect(h0, opts);
    if (mode === 'push') requirePrivilege(conn);
    where = 'discover';
    const { h, stack, path, target } = await resolveHost(conn, h0);
    const iface = h.settings.interface!;
    const key = stateKey(path);
    Object.assign(result, { path, stack: stack.name, interface: iface });
    where = 'check';
    step('checking');
    await preflight(conn, stack, h);
    const curBuf = await conn.readFile(path);
    const current = curBuf?.toString('utf8') ?? null;
    const currentMode = curBuf ? ((await conn.stat(path))?.mode ?? 0) & 0o7777 : null;
    const owned = stack.merges ? await ownedRoutes(conn, key) : [];
    const { planned: computed, before } = plannedFile(stack, h, current, opts, owned);
    const planned = opts.finalFile ? await opts.finalFile(stack, path, computed) : computed;
    Object.assign(result, countChanges(h.routes, before));
    const ours = stack.merges ? owned : before;
    const families = familiesOf(h.routes, ours);
    const state = { current, currentMode, planned, mode: stack.mode };
    let decision = decide(state, mode);
    if (decision.action === 'show') {
      if (decision.guard) refuseConflicts(await hostFacts(conn, undefined, h, families), h, ours, result);
      result.diff = unifiedDiff(path, current, planned);
      if (!result.diff && decision.outcome === 'would change') result.diff = `mode of ${path}: ${currentMode?.toString(8)} → ${stack.mode.toString(8)}`;
      outcome = decision.outcome;
      return result;
    }
    const takeHelperAway = await ensureHostScript(conn);
    const staging = await clearLeftovers(conn, stack, path);
    helper = await HostHelper.start(conn, opts.commandTimeoutS * 1000);
    const facts = await hostFacts(conn, helper, h, families);
    const check = checkRoutes(facts.kernel, h.routes, iface, h.settings.metric);
    decision = decide({ ...state, kernelOk: routeCheckOk(check) }, mode);
    if (decision.action === 'none') {
      outcome = 'unchanged';
      return result;
    }
    try {
      refuseConflicts(facts, h, ours, result);
    } catch (e) {
      helper.close();
      await takeHelperAway();
      throw e;
    }
    if (decision.action === 'repair') {
      // Nothing to write: the kernel lost routes the file has. Apply the file again.
      result.problems = describeRouteCheck(check);
      where = 'apply';
      step('applying');
      const r = await helper.run('reapply', { stack: stack.name, iface, target, families });
      if (r.code !== EXIT.ok) throw new StepError('apply', `applying ${stack.name} failed (exit ${r.code})`, r.stderr);
      where = 'verify';
      step('verifying');
      const after = await verify(helper, h, [], r.stdout, families, opts.verifyTimeoutS);
      if (!routeCheckOk(after)) throw new StepError('verify', `the kernel still lacks routes after re-applying ${path}`, undefined, 'see the problems listed; check the interface name and that the gateways are on its subnet');
      outcome = 'repaired';
      return result;
    }
    let staged = '-';
    if (planned !== null) {
      where = 'upload';
      step('uploading');
      await conn.mkdirp(posix.dirname(path), 0o755);
      staged = staging;
      await conn.writeFileAtomic(staged, planned, stack.mode);
    }
    where = 'apply';
    const first = conn;
    outcome = await commitHost({
      helper, h, stack, path, target, key, staged, previous: current, gone: before, families, opts, step, result,
      reconnect: () => connect(h, opts, first.target, { sftp: false }),
      reconnectFull: () => connect(h, opts, first.target),
    });
    // On NetworkManager the keyfile is the host's: remember which routes are routegen's.
    if (stack.merges) await conn.writeFileAtomic(stateFile(key, 'owned'), h.routes.map((x) => `${x.to}\n`).join(''), 0o600);
    return result;
  } catch (e) {
    if (e instanceof CommitFailure) {
      result.error = e.error(where);
      outcome = e.restored.outcome;
      if (e.restored.problems) result.problems = e.restored.problems;
    } else {
      result.error = describeError(e, where);
    }
    return result;
  } finally {
    helper?.close();
    await conn?.close().catch(() => undefined);
    result.outcome = outcome;
    result.seconds = (Date.now() - t0) / 1000;
    step('done');
  }
}
