import { createTwoFilesPatch } from 'diff';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { RemoteError, type RemoteHost } from '../remote/connection.js';
import { sudoHint } from '../remote/errors.js';
import type { Reach } from '../remote/reach.js';
import type { SshTarget } from '../remote/sshConfig.js';
import { TEMPLATE_DIR, renderHost } from '../render.js';
import { STACKS, type StackModule } from '../stacks/index.js';
import { plainName } from '../stacks/stack.js';
import { UserError } from '../errors.js';
import { cidrRange } from '../ip.js';
import { mergeKeyfileRoutes } from '../stacks/nmKeyfile.js';
import type { HostPlan, IpValue, Route } from '../types.js';
import { explainHostRollback, rollbackMarginS, startReconnect, type ReconnectWatch } from './cutOff.js';
import { completeSettings } from './discover.js';
import { conflictError, readHostFacts, routeConflicts, type HostFacts } from './guard.js';
import { checkRoutes, describeRouteCheck, HostOutputError, parseKernelRoutes, routeCheckOk, type RouteCheck } from './kernel.js';

/** Where routegen keeps its helper script and per-file state on a host (0700, root). */
export const STATE_DIR = '/var/lib/routegen';
export const HOST_SCRIPT = `${STATE_DIR}/routegen-host.sh`;
const HOST_SCRIPT_TEXT = readFileSync(`${TEMPLATE_DIR}routegen-host.sh`, 'utf8');

export type Step = 'connecting' | 'checking' | 'uploading' | 'applying' | 'verifying' | 'confirming' | 'rolling back' | 'done';

export type Outcome = 'changed' | 'unchanged' | 'repaired' | 'would change' | 'failed' | 'rolled back';

export interface HostResult {
  host: string;
  address: string;
  outcome: Outcome;
  /** Routes the host has once the plan is applied. */
  routes: number;
  /** Destinations added and removed; unknown until the host's current file was read. */
  added?: number;
  removed?: number;
  seconds: number;
  /** Path of routegen's file on the host, and the stack and interface used (given or discovered). */
  path?: string;
  stack?: string;
  interface?: string;
  /** Unified diff of current → planned (dry run and diff). */
  diff?: string;
  /** What failed: the step, the message, the host's own error text, what to try. */
  error?: { step: string; message: string; stderr?: string; hint?: string };
  /** Route problems found when verifying (or that caused the rollback). */
  problems?: string[];
}

export interface PushOptions {
  dryRun?: boolean;
  /** Only read: compute the diff (routegen diff). */
  diffOnly?: boolean;
  /** How this run reaches its hosts (ssh config, jump hosts, timeouts). */
  ssh: Reach;
  confirmTimeoutS: number;
  verifyTimeoutS: number;
  commandTimeoutS: number;
  inventoryName: string;
  /** Every pod subnet of the cluster: on NetworkManager hosts, the routes routegen owns. */
  cluster: IpValue[];
  onStep?: (host: string, step: Step) => void;
  /** `routegen remove`: the file to write in place of the computed one (on NetworkManager, the
   * keyfile as it was before routegen came, when it differs from the computed one only there). */
  finalFile?: (stack: StackModule, path: string, computed: string | null) => Promise<string | null>;
}

/** NetworkManager: the destinations routegen wrote into the host's keyfile at its last push. */
export async function ownedRoutes(conn: RemoteHost, key: string): Promise<string[]> {
  const text = await conn.readFile(`${STATE_DIR}/${key}.owned`).catch(() => null);
  return text?.toString('utf8').split('\n').filter(Boolean) ?? [];
}

/**
 * What the host's file should hold: the rendered file, or — on NetworkManager, whose keyfile is
 * the host's own — the current keyfile with its pod routes replaced. `before`: the destinations
 * routegen owned in the current file, for checking that removed ones left the kernel.
 */
export function plannedFile(stack: StackModule, h: HostPlan, current: string | null, opts: Pick<PushOptions, 'inventoryName' | 'cluster'>, owned: string[] = []): { planned: string | null; before: string[] } {
  if (!stack.merges) {
    return { planned: renderHost(h, opts.inventoryName)[0]?.content ?? null, before: current === null ? [] : stack.routes(current).map((r) => r.to) };
  }
  if (current === null) throw new StepError('check', `${stack.path(h.settings)} does not exist`);
  // Routegen's routes: those into today's pod subnets, and those it wrote last time (a node
  // removed from the inventory takes its subnet out of the cluster, not out of the keyfile).
  const ours = [...opts.cluster, ...owned.map(cidrRange).filter((r): r is IpValue => r !== null)];
  const inCluster = (cidr: string) => {
    const r = cidrRange(cidr);
    return r !== null && ours.some((c) => c.family === r.family && r.start >= c.start && r.end <= c.end);
  };
  try {
    const planned = mergeKeyfileRoutes(current, h.routes.map((r) => ({ family: r.family, to: r.to, via: r.via, ...(h.settings.metric === undefined ? {} : { metric: h.settings.metric }) })), ours, cidrRange);
    return { planned, before: stack.routes(current).map((r) => r.to).filter(inCluster) };
  } catch (e) {
    if (e instanceof UserError) throw new StepError('check', `${stack.path(h.settings)}: ${e.message}`, undefined, e.hint);
    throw e;
  }
}

/** Which address or name to give ssh for a host. */
export function connectName(h: HostPlan): string {
  switch (h.settings.ssh.via) {
    case 'hostname':
      return h.name;
    case 'fqdn':
      return h.fqdn;
    default:
      return h.ip;
  }
}

/** The state key of a target path: its path with `/` as `%`, any other character that is not
 * safe in a file name and an argument as `=XX` (a keyfile may be named `Wired connection 1`). */
export function stateKey(path: string): string {
  return path.replace(/^\//, '').split('/').map(plainName).join('%');
}

export function unifiedDiff(path: string, current: string | null, planned: string | null): string {
  if ((current ?? '') === (planned ?? '')) return '';
  return createTwoFilesPatch(current === null ? '/dev/null' : `a${path}`, planned === null ? '/dev/null' : `b${path}`, current ?? '', planned ?? '', '', '', { context: 3 })
    .split('\n')
    .slice(1) // the "Index:"/"===" header createTwoFilesPatch starts with
    .filter((l) => !/^=+$/.test(l))
    .join('\n');
}

/** Step-tagged failure of a host's run (pushHost, removeHost): `describeError` reports it. */
export class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
    readonly stderr?: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Applying normally takes a second or two; when it takes longer than this (a third of the
 * confirm timeout, at most 10 s), new connections are tried meanwhile: a host cut off by the
 * change hangs the connection that applied, until its own rollback. */
const earlyConfirmMs = (confirmTimeoutS: number) => Math.min(10_000, (confirmTimeoutS * 1000) / 3);

/** Reads the kernel's main tables; a constant script, nothing installed on the host. */
export const ROUTES_SCRIPT = 'echo @@ipv4; ip -j -4 route show table main; echo @@ipv6; ip -j -6 route show table main';

/** `resolved`: the target of an earlier connection to the same host (no second `ssh -G`). */
export async function connect(h: HostPlan, opts: Pick<PushOptions, 'ssh'>, resolved?: SshTarget): Promise<RemoteHost> {
  const target = resolved ?? await opts.ssh.target(connectName(h), {
    user: h.settings.ssh.user,
    port: h.settings.ssh.port,
    identityFile: h.settings.ssh.identityFile,
  });
  return opts.ssh.connect(target);
}

/**
 * The host's full settings (what the user left open asked of the host, on this connection), its
 * stack, the path of routegen's file there and what the host script is told in its place
 * (`target`); push, status and rollback all start with it.
 */
export async function resolveHost(conn: RemoteHost, h0: HostPlan): Promise<{ h: HostPlan; stack: StackModule; path: string; target: string }> {
  const { settings, problem, hint } = await completeSettings(conn, h0);
  if (problem) throw new StepError('discover', problem, undefined, hint ?? 'give the stack and interface with flags or in routegen.yaml (`routegen discover --write` records what it finds)');
  const stack = STACKS[settings.stack!];
  const path = stack.path(settings);
  return { h: { ...h0, settings }, stack, path, target: stack.hostTarget?.(settings) ?? path };
}

/** Writing network configuration needs root: the login user, or `sudo -n` without a password. */
export function requirePrivilege(conn: RemoteHost): void {
  if (conn.privileged) return;
  const u = conn.user;
  throw new StepError('sudo', `${u} is not root, and \`sudo -n true\` fails on ${conn.target.alias} (sudo is missing, or asks for a password)`, undefined, sudoHint(u));
}

async function preflight(conn: RemoteHost, stack: StackModule, h: HostPlan): Promise<void> {
  for (const check of stack.preflight(h.settings)) {
    let found: string | undefined;
    for (const p of check.paths) {
      if (await conn.stat(p)) {
        found = p;
        break;
      }
    }
    if (!found) throw new StepError('check', `${check.what} not found on ${h.name} (looked for ${check.paths.join(', ')})`, undefined, check.hint);
    if (check.contains) {
      const text = (await conn.readFile(found))?.toString('utf8') ?? '';
      if (!check.contains.pattern.test(text)) throw new StepError('check', check.contains.missing, undefined, check.hint);
    }
  }
}

async function ensureHostScript(conn: RemoteHost): Promise<void> {
  const cur = await conn.readFile(HOST_SCRIPT);
  if (cur && cur.toString('utf8') === HOST_SCRIPT_TEXT) return;
  await conn.mkdirp(STATE_DIR, 0o700);
  await conn.writeFileAtomic(HOST_SCRIPT, HOST_SCRIPT_TEXT, 0o700);
}

export async function kernelRoutes(conn: RemoteHost) {
  const r = await conn.execScript(ROUTES_SCRIPT, []);
  if (r.code !== 0) throw new StepError('verify', 'cannot read the routing table', r.stderr);
  return parseKernelRoutes(r.stdout);
}

/** The host's routing table and SSH peer (guard.ts), in one command. */
async function hostFacts(conn: RemoteHost, h: HostPlan): Promise<HostFacts> {
  const r = await readHostFacts(conn);
  if (!('facts' in r)) throw new StepError('check', `cannot read the routing table of ${h.name} (exit ${r.code})`, r.stderr);
  return r.facts;
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

/** Polls the kernel until the plan is there, or the time is up. networkd reloads
 * asynchronously before systemd 256: the first look may come too early. */
async function verify(conn: RemoteHost, h: HostPlan, gone: string[], first: string | undefined, timeoutS: number): Promise<RouteCheck> {
  const deadline = Date.now() + timeoutS * 1000;
  let out = first;
  for (let delay = 25; ; delay = Math.min(delay * 2, 1000)) {
    const kernel = out !== undefined && out.includes('@@ipv4') ? parseKernelRoutes(out) : await kernelRoutes(conn);
    out = undefined;
    const check = checkRoutes(kernel, h.routes, h.settings.interface!, h.settings.metric, gone);
    if (routeCheckOk(check) || Date.now() >= deadline) return check;
    await new Promise((r) => setTimeout(r, delay));
  }
}

function countChanges(planned: Route[], before: string[]): { added: number; removed: number } {
  // By destination: a changed gateway or metric rewrites the file but adds or removes nothing.
  const now = new Set(planned.map((r) => r.to));
  const was = new Set(before);
  return { added: [...now].filter((d) => !was.has(d)).length, removed: [...was].filter((d) => !now.has(d)).length };
}

export function describeError(e: unknown, step: string): NonNullable<HostResult['error']> {
  if (e instanceof StepError) return { step: e.step, message: e.message, stderr: e.stderr?.trim() || undefined, hint: e.hint };
  if (e instanceof RemoteError) return { step: e.step || step, message: e.message, stderr: e.stderr?.trim() || undefined, hint: e.hint };
  if (e instanceof HostOutputError) return { step, message: e.message, stderr: e.output.trim() || undefined, hint: e.hint };
  throw e; // a bug: let it surface with its stack
}

/**
 * Pushes one host's file on one connection: check the stack, read the current file, and when it
 * differs back it up, arm an automatic rollback on the host, rename the new file into place,
 * apply, verify the kernel, and confirm from a NEW connection. Any failure after arming rolls
 * back at once; if routegen dies, the host rolls back by itself when the timer fires.
 */
export async function pushHost(h0: HostPlan, opts: PushOptions): Promise<HostResult> {
  const t0 = Date.now();
  const result: HostResult = { host: h0.name, address: connectName(h0), outcome: 'failed', routes: h0.routes.length, seconds: 0 };
  const step = (s: Step) => opts.onStep?.(h0.name, s);
  const done = (outcome: Outcome) => {
    result.outcome = outcome;
    result.seconds = (Date.now() - t0) / 1000;
    step('done');
    return result;
  };

  let where = 'connect';
  let conn: RemoteHost | undefined;
  let armed = false;
  /** The host's own timer put the previous file back (it was cut off, or confirming came late). */
  let rolledBackByHost = false;
  /** The confirming connection, tried early when applying is slow (see cutOff.ts). */
  let watch: ReconnectWatch | undefined;
  /** Why the host rolled back by itself: filled in once it is known that it did. */
  let hostRollback: (() => ReturnType<typeof explainHostRollback>) | undefined;
  let restoreArgs: string[] = [];
  try {
    step('connecting');
    conn = await connect(h0, opts);
    if (!opts.dryRun && !opts.diffOnly) requirePrivilege(conn);
    where = 'discover';
    const { h, stack, path, target } = await resolveHost(conn, h0);
    const iface = h.settings.interface!;
    const key = stateKey(path);
    Object.assign(result, { path, stack: stack.name, interface: iface });
    restoreArgs = ['sh', HOST_SCRIPT, 'restore', key, target, stack.name, iface];
    where = 'check';
    step('checking');
    await preflight(conn, stack, h);
    const curBuf = await conn.readFile(path);
    const current = curBuf?.toString('utf8') ?? null;
    const curMode = curBuf ? ((await conn.stat(path))?.mode ?? 0) & 0o7777 : null;
    const ownedPath = `${STATE_DIR}/${key}.owned`;
    const owned = stack.merges ? await ownedRoutes(conn, key) : [];
    const { planned: computed, before } = plannedFile(stack, h, current, opts, owned);
    const planned = opts.finalFile ? await opts.finalFile(stack, path, computed) : computed;
    Object.assign(result, countChanges(h.routes, before));
    const sameFile = current === planned && (planned === null || curMode === stack.mode);
    const ours = stack.merges ? owned : before;
    if (!sameFile && !opts.diffOnly) refuseConflicts(await hostFacts(conn, h), h, ours, result);
    if (opts.dryRun || opts.diffOnly) {
      result.diff = unifiedDiff(path, current, planned);
      if (!result.diff && !sameFile) result.diff = `mode of ${path}: ${curMode?.toString(8)} → ${stack.mode.toString(8)}`;
      return done(sameFile ? 'unchanged' : 'would change');
    }
    await ensureHostScript(conn);
    // What an interrupted earlier push may have left beside the target: its temp and staged
    // files (hidden from the stack, but litter all the same).
    const dir = posix.dirname(path);
    const staging = posix.join(dir, stack.hiddenName(posix.basename(path), 'routegen-new'));
    if (await conn.stat(dir)) {
      for (const name of await conn.list(dir)) {
        if (/^\.routegen-[0-9a-f]+\.tmp$/.test(name) || posix.join(dir, name) === staging) await conn.remove(posix.join(dir, name));
      }
    }

    if (sameFile) {
      // Nothing to write; make sure the kernel agrees, and repair it from the file if not.
      where = 'verify';
      step('verifying');
      const facts = await hostFacts(conn, h);
      const check = checkRoutes(facts.kernel, h.routes, iface, h.settings.metric);
      if (routeCheckOk(check)) return done('unchanged');
      refuseConflicts(facts, h, ours, result);
      result.problems = describeRouteCheck(check);
      where = 'apply';
      step('applying');
      const r = await conn.exec(['sh', HOST_SCRIPT, 'reapply', h.settings.stack!, iface, target], { sudo: true });
      if (r.code !== 0) throw new StepError('apply', `applying ${stack.name} failed (exit ${r.code})`, r.stderr);
      where = 'verify';
      step('verifying');
      const after = await verify(conn, h, [], r.stdout, opts.verifyTimeoutS);
      if (!routeCheckOk(after)) throw new StepError('verify', `the kernel still lacks routes after re-applying ${path}`, undefined, 'see the problems listed; check the interface name and that the gateways are on its subnet');
      return done('repaired');
    }

    let staged = '-';
    if (planned !== null) {
      where = 'upload';
      step('uploading');
      await conn.mkdirp(dir, 0o755);
      staged = staging;
      await conn.writeFileAtomic(staged, planned, stack.mode);
    }
    where = 'apply';
    step('applying');
    // The host's rollback is due no earlier than this (it arms its timer after we ask).
    const armedAt = Date.now();
    const rollbackDueAt = armedAt + opts.confirmTimeoutS * 1000;
    const first = conn;
    watch = startReconnect(() => connect(h, opts, first.target), earlyConfirmMs(opts.confirmTimeoutS), rollbackDueAt + rollbackMarginS(opts.confirmTimeoutS) * 1000);
    const w = watch;
    hostRollback = async () =>
      explainHostRollback({ probe: await w.result(), armedAt, rollbackDueAt, confirmTimeoutS: opts.confirmTimeoutS, h, stack, path, previous: current, failedCopy: `${STATE_DIR}/${key}.failed`, routesScript: ROUTES_SCRIPT });
    const commit = await conn.exec(
      ['sh', HOST_SCRIPT, 'commit', String(opts.confirmTimeoutS), key, target, `0${stack.mode.toString(8)}`, h.settings.stack!, iface, staged],
      { sudo: true, timeoutMs: Math.max(opts.commandTimeoutS, opts.confirmTimeoutS) * 1000 },
    );
    if (commit.code === 5) throw new StepError('apply', 'an earlier push of this host is still waiting for its confirmation', commit.stderr, 'wait for its automatic rollback (at most --confirm-timeout seconds), then push again');
    armed = true;
    if (commit.code !== 0) {
      throw new StepError('apply', commit.code === 3 ? `applying ${stack.name} failed` : `installing ${path} failed (exit ${commit.code})`, commit.stderr, commit.code === 3 ? `the host's own error is above; fix it there (is the ${stack.name} service running?) and push again` : undefined);
    }
    where = 'verify';
    step('verifying');
    const check = await verify(conn, h, before, commit.stdout, opts.verifyTimeoutS);
    if (!routeCheckOk(check)) {
      result.problems = describeRouteCheck(check);
      throw new StepError('verify', `the kernel does not have the planned routes ${opts.verifyTimeoutS} s after applying`, undefined,
        stack.name === 'networkd' ? `is ${h.settings.networkdFile} the file that manages ${iface}? (\`networkctl status ${iface}\` shows it)` : `is ${iface} the interface on the node network?`);
    }

    // Proof that the host is still reachable after the change: a new connection confirms.
    where = 'confirm';
    step('confirming');
    let second: RemoteHost | undefined;
    try {
      // Until the host's rollback is due, and a margin after it: a host the change cut off comes
      // back when its own timer has put the previous file back.
      second = (await watch.result()).conn;
      if (!second) {
        armed = false; // cannot reach it to roll back either: its own timer will (or did)
        const why = await hostRollback();
        rolledBackByHost = why.rolledBack;
        throw new StepError('confirm', why.message, undefined, why.hint);
      }
      const r = await second.exec(['sh', HOST_SCRIPT, 'confirm', key], { sudo: true });
      if (r.code === 4) {
        armed = false;
        const why = await hostRollback();
        rolledBackByHost = why.rolledBack;
        if (why.problems.length) result.problems = why.problems;
        throw new StepError('confirm', why.message, why.rolledBack ? undefined : r.stderr, why.hint);
      }
      if (r.code !== 0) throw new StepError('confirm', `confirming failed (exit ${r.code})`, r.stderr);
      armed = false;
      // On NetworkManager the keyfile is the host's: remember which routes are routegen's.
      if (stack.merges) await conn.writeFileAtomic(ownedPath, h.routes.map((x) => `${x.to}\n`).join(''), 0o600);
    } finally {
      await second?.close().catch(() => undefined);
    }
    return done('changed');
  } catch (e) {
    // A bug (not a host's error) still rolls an armed host back at once before it surfaces.
    let bug: unknown;
    try {
      result.error = describeError(e, where);
    } catch {
      bug = e;
      result.error = { step: where, message: `internal error: ${(e as Error)?.message ?? String(e)}` };
    }
    let outcome: Outcome = rolledBackByHost ? 'rolled back' : 'failed';
    if (armed && conn) {
      step('rolling back');
      try {
        const r = await conn.exec(restoreArgs, { sudo: true });
        if (r.code === 0) outcome = 'rolled back';
        else if (r.code === 4 && hostRollback) {
          // Its own timer was first: the connection that applied hung while it was cut off, or
          // applying took longer than --confirm-timeout.
          const why = await hostRollback();
          result.error = { step: result.error.step, message: why.message, hint: why.hint };
          if (why.problems.length) result.problems = why.problems;
          outcome = why.rolledBack ? 'rolled back' : 'failed';
        } else if (r.code === 3) {
          // The previous file is back; applying it failed for the same reason as before.
          result.error.message += '; the previous file is back in place, but applying it failed too';
          if (r.stderr.trim() && !result.error.stderr?.includes(r.stderr.trim())) result.error.stderr = [result.error.stderr, r.stderr.trim()].filter(Boolean).join('\n');
          outcome = 'rolled back';
        } else result.error.message += `; rolling back failed too (exit ${r.code}): ${r.stderr.trim()}`;
      } catch (e2) {
        result.error.message += `; rolling back failed too: ${(e2 as Error).message}. The host rolls back by itself within ${opts.confirmTimeoutS} s`;
      }
    }
    if (bug !== undefined) throw bug;
    return done(outcome);
  } finally {
    await watch?.cancel();
    await conn?.close().catch(() => undefined);
  }
}
