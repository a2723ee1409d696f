/**
 * The armed part of a push: commit (back up, arm the host's own rollback timer, rename the new
 * file into place, apply), verify the kernel, confirm after a NEW connection got through — and,
 * once the host is armed, any throw at all (a host's error or a bug in routegen) rolls it back at
 * once. The guard is withCommit; commitHost is the sequence inside it.
 */
import type { RemoteHost } from '../remote/connection.js';
import type { StackModule } from '../stacks/index.js';
import type { HostPlan } from '../types.js';
import { explainHostRollback, rollbackMarginS, startReconnect, wasCutOff, type ReconnectWatch } from './cutOff.js';
import { describeError, isHostFailure, StepError, type HostError } from './failure.js';
import { ROUTES_SCRIPT, HostHelper } from './hostAccess.js';
import { describeRouteCheck, routeCheckOk } from './kernel.js';
import { verify } from './verify.js';
import { EXIT, stateFile, type Families } from './protocol.js';
import type { HostResult, Outcome, PushOptions, Step } from './result.js';

/** What restoring an armed host did, for the host's result. */
export interface Restored {
  outcome: Outcome;
  /** Replaces the error's message (the host's own timer was first: the true cause). */
  message?: string;
  hint?: string;
  /** Added to the error's message. */
  more?: string;
  stderr?: string;
  problems?: string[];
}

/** A failure after the host was armed, with what restoring it did. */
export class CommitFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly restored: Restored,
  ) {
    super('commit failed');
  }

  /** The host's error, as restoring it leaves it. */
  error(step: string): HostError {
    const e = describeError(this.cause, step);
    const r = this.restored;
    if (r.message !== undefined) return { step: e.step, message: r.message, ...(r.hint !== undefined && { hint: r.hint }), ...(e.internal !== undefined && { internal: e.internal }) };
    if (r.more) e.message += r.more;
    if (r.stderr && !e.stderr?.includes(r.stderr)) e.stderr = [e.stderr, r.stderr].filter(Boolean).join('\n');
    return e;
  }
}

/**
 * Runs `work` on an armed host. Any throw restores the host at once (`restore`), then surfaces
 * as a CommitFailure that says what restoring did; restoring itself never throws.
 */
export async function withCommit<T>(restore: (cause: unknown) => Promise<Restored>, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw new CommitFailure(e, await restoreSafely(restore, e));
  }
}

async function restoreSafely(restore: (cause: unknown) => Promise<Restored>, cause: unknown): Promise<Restored> {
  try {
    return await restore(cause);
  } catch (e2) {
    return { outcome: 'failed', more: `; rolling back failed too: ${(e2 as Error).message}` };
  }
}

/** Applying normally takes a second or two; when it takes longer than this (a third of the
 * confirm timeout, at most 10 s), new connections are tried meanwhile: a host cut off by the
 * change hangs the connection that applied, until its own rollback. */
const earlyConfirmMs = (confirmTimeoutS: number) => Math.min(10_000, (confirmTimeoutS * 1000) / 3);

export interface CommitJob {
  helper: HostHelper;
  h: HostPlan;
  stack: StackModule;
  path: string;
  target: string;
  key: string;
  /** The uploaded file beside the target, or `-`: delete the target. */
  staged: string;
  /** The file before the push (null: none), and the destinations it had that the plan drops. */
  previous: string | null;
  gone: string[];
  families: Families;
  /** A new connection to the host (for commands only). */
  reconnect: () => Promise<RemoteHost>;
  /** A new connection with SFTP (to find out why the host rolled back by itself). */
  reconnectFull: () => Promise<RemoteHost>;
  opts: PushOptions;
  step: (s: Step) => void;
  result: HostResult;
}

/** Commits, verifies and confirms; throws StepError, RemoteError or CommitFailure. */
export async function commitHost(j: CommitJob): Promise<'changed'> {
  const { helper, h, stack, opts, result } = j;
  const conn = helper.connection;
  const iface = h.settings.interface!;
  const armedAt = Date.now();
  const rollbackDueAt = armedAt + opts.confirmTimeoutS * 1000;
  const graceS = opts.rollbackGraceS ?? rollbackMarginS(opts.confirmTimeoutS);
  const watch: ReconnectWatch = startReconnect(j.reconnect, earlyConfirmMs(opts.confirmTimeoutS), rollbackDueAt + graceS * 1000);
  /** Why the host rolled back by itself: once it is known that it did. */
  const hostRollback = async () => {
    const probe = await watch.result();
    if (probe.conn && wasCutOff(probe, rollbackDueAt)) {
      // Telling what is back needs SFTP, which the confirming connection has not.
      await probe.conn.close().catch(() => undefined);
      probe.conn = await j.reconnectFull().catch(() => undefined);
    }
    return explainHostRollback({ probe, armedAt, rollbackDueAt, confirmTimeoutS: opts.confirmTimeoutS, graceS, h, stack, path: j.path, previous: j.previous, failedCopy: stateFile(j.key, 'failed'), routesScript: ROUTES_SCRIPT });
  };
  const explained = async (): Promise<Restored> => {
    const why = await hostRollback();
    return { outcome: why.rolledBack ? 'rolled back' : 'failed', message: why.message, hint: why.hint, ...(why.problems.length > 0 && { problems: why.problems }) };
  };
  const restoreArgs = { key: j.key, target: j.target, stack: stack.name, iface };
  const restore = async (cause: unknown): Promise<Restored> => {
    // Nothing left to restore: the host's timer did (or will, unreachable as it is).
    if (cause instanceof HostRolledBack) return explained();
    j.step('rolling back');
    // On the helper; when it is gone (its request timed out, say), with a command of its own.
    const r = await helper
      .run('restore', restoreArgs)
      .catch((e: unknown) => (isHostFailure(e) ? HostHelper.once(conn, 'restore', restoreArgs) : Promise.reject(e)))
      .catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
    if (r.code === EXIT.ok) return { outcome: 'rolled back' };
    if (r.code === -1) return { outcome: 'failed', more: `; rolling back failed too: ${r.stderr}. The host rolls back by itself within ${opts.confirmTimeoutS} s` };
    // Its own timer was first: the connection that applied hung while it was cut off, or
    // applying took longer than --confirm-timeout.
    if (r.code === EXIT.nothingToClaim) return explained();
    // The previous file is back; applying it failed for the same reason as before.
    if (r.code === EXIT.applyFailed) return { outcome: 'rolled back', more: '; the previous file is back in place, but applying it failed too', stderr: r.stderr.trim() };
    return { outcome: 'failed', more: `; rolling back failed too (exit ${r.code}): ${r.stderr.trim()}` };
  };

  try {
    j.step('applying');
    const timeoutMs = Math.max(opts.commandTimeoutS, opts.confirmTimeoutS) * 1000;
    let commit;
    try {
      commit = await helper.run('commit', { timeoutS: opts.confirmTimeoutS, key: j.key, target: j.target, stack: stack.name, iface, staged: j.staged, families: j.families }, timeoutMs);
    } catch (e) {
      // Lost or timed out while committing: the host may be armed. Roll back now.
      throw new CommitFailure(e, await restoreSafely(restore, e));
    }
    // (another push's token: nothing of this one is armed, and restoring would undo that one)
    if (commit.code === EXIT.awaitingConfirm) throw new StepError('apply', 'an earlier push of this host is still waiting for its confirmation', commit.stderr, 'wait for its automatic rollback (at most --confirm-timeout seconds), then push again');
    return await withCommit(restore, async () => {
      if (commit.code !== EXIT.ok) {
        const applyFailed = commit.code === EXIT.applyFailed;
        throw new StepError('apply', applyFailed ? `applying ${stack.name} failed` : `installing ${j.path} failed (exit ${commit.code})`, commit.stderr, applyFailed ? `the host's own error is above; fix it there (is the ${stack.name} service running?) and push again` : undefined);
      }
      j.step('verifying');
      const check = await verify(helper, h, j.gone, commit.stdout, j.families, opts.verifyTimeoutS);
      if (!routeCheckOk(check)) {
        result.problems = describeRouteCheck(check);
        throw new StepError('verify', `the kernel does not have the planned routes ${opts.verifyTimeoutS} s after applying`, undefined,
          stack.name === 'networkd' ? `is ${h.settings.networkdFile} the file that manages ${iface}? (\`networkctl status ${iface}\` shows it)` : `is ${iface} the interface on the node network?`);
      }
      // Proof that the host is still reachable after the change: a NEW connection logs in (its
      // host key checked like any), until the host's rollback is due and a margin after it.
      j.step('confirming');
      const second = (await watch.result()).conn;
      if (!second) throw new HostRolledBack();
      // Disarm on the helper; if its connection is gone, on the new one.
      const r = await helper.run('confirm', { key: j.key }).catch((e: unknown) => (isHostFailure(e) ? HostHelper.once(second, 'confirm', { key: j.key }) : Promise.reject(e)));
      if (r.code === EXIT.nothingToClaim) throw new HostRolledBack(r.stderr);
      if (r.code !== EXIT.ok) throw new StepError('confirm', `confirming failed (exit ${r.code})`, r.stderr);
      return 'changed' as const;
    });
  } finally {
    await watch.cancel();
  }
}

/** The host rolled the change back by itself before it was confirmed. */
class HostRolledBack extends StepError {
  constructor(stderr?: string) {
    super('confirm', 'the change was rolled back on the host before it could be confirmed', stderr);
  }
}
