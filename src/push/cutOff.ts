/**
 * After applying, push proves the host is still reachable with a NEW SSH connection. This file
 * tells the two ways that can fail apart, because they call for opposite fixes:
 *
 * - cut off: from the moment routegen tried, the host accepted no new connection until its own
 *   rollback timer put the previous file back (the change took the link's address: e.g. routes
 *   under a second netplan definition of the interface). A longer --confirm-timeout would only
 *   keep it cut off longer; the file that defines the interface is what to look at.
 * - slow: the host was reachable, but applying and verifying took longer than --confirm-timeout.
 */
import { RemoteError, type RemoteHost } from '../remote/connection.js';
import type { StackModule } from '../stacks/index.js';
import type { HostPlan } from '../types.js';
import { discoverHost } from './discover.js';
import { checkRoutes, describeRouteCheck, parseKernelRoutes, routeCheckOk } from './kernel.js';

/** How long after the host's own rollback is due routegen keeps trying to reach it again, unless
 * --rollback-grace says: the rollback re-applies the previous file (a netplan apply takes seconds
 * on a busy host), and one connection attempt that started while it was cut off can take a
 * connect timeout. Half the confirm timeout, from 20 to 60 s. */
export function rollbackMarginS(confirmTimeoutS: number): number {
  return Math.min(60, Math.max(20, Math.round(confirmTimeoutS / 2)));
}

/** Errors worth trying again: the host did not answer, or answered with a refusal or a reset. */
function transient(e: unknown): e is RemoteError {
  return e instanceof RemoteError && (e.kind === 'connect' || e.kind === 'timeout');
}

export interface Reconnect {
  conn?: RemoteHost;
  /** When the first attempt started, and when the connection in `conn` got through (epoch ms). */
  startedAt: number;
  connectedAt?: number;
  /** Every attempt: when it started, and when it got through (undefined: it failed). */
  tries: Array<{ at: number; okAt?: number }>;
  /** The last failed attempt's error. */
  lastError?: RemoteError;
  attempts: number;
}

export interface ReconnectWatch {
  /** Starts trying now if the delay has not passed yet; resolves once a connection got
   * through or the time is up. */
  result(): Promise<Reconnect>;
  /** Stops trying and closes the connection result() gave, if any (closing twice is harmless). */
  cancel(): Promise<void>;
}

/**
 * The confirming connection, tried early when applying is slow: after `delayMs` (or at once when
 * result() is called), new connections are tried until `untilMs`. While routegen still waits for
 * the apply (before result() is called) a connection that gets through is only a probe — the
 * host was reachable then — and is closed; the one result() gives was started after, so it
 * proves the host is reachable with the change applied. When the connection that applied hangs
 * (a host that lost its address answers nothing, not even on it), the probes tell "cut off"
 * from "slow".
 */
export function startReconnect(connectOnce: () => Promise<RemoteHost>, delayMs: number, untilMs: number, pauseMs = 1000): ReconnectWatch {
  let start!: () => void;
  let cancelled = false;
  let takenAt: number | undefined;
  const go = new Promise<void>((res) => (start = res));
  const timer = setTimeout(start, delayMs);
  const run = (async (): Promise<Reconnect> => {
    await go;
    const r: Reconnect = { startedAt: Date.now(), attempts: 0, tries: [] };
    while (!cancelled) {
      r.attempts++;
      const attemptAt = Date.now();
      const t: { at: number; okAt?: number } = { at: attemptAt };
      r.tries.push(t);
      try {
        const conn = await connectOnce();
        t.okAt = Date.now();
        if (cancelled || takenAt === undefined || attemptAt < takenAt) {
          await conn.close().catch(() => undefined); // a probe
          if (cancelled) break;
        } else {
          r.conn = conn;
          r.connectedAt = Date.now();
          return r;
        }
      } catch (e) {
        if (!transient(e)) throw e;
        r.lastError = e;
      }
      // (after a probe that got through, a longer pause: it only has to notice a later cut)
      const pause = t.okAt !== undefined ? 3 * pauseMs : pauseMs;
      // Out of time; but once asked for, one attempt started after the apply returned is made.
      const askedAndTried = takenAt !== undefined && r.tries.some((x) => x.at >= takenAt!);
      if (Date.now() + pause >= untilMs && (takenAt === undefined || askedAndTried)) break;
      await new Promise((res) => setTimeout(res, pause));
    }
    return r;
  })();
  run.catch(() => undefined); // observed by result(); a cancelled watch's failure is nobody's
  return {
    result: () => {
      clearTimeout(timer);
      takenAt ??= Date.now();
      start();
      return run;
    },
    cancel: async () => {
      cancelled = true;
      clearTimeout(timer);
      start();
      const r = await run.catch(() => undefined);
      await r?.conn?.close().catch(() => undefined);
    },
  };
}

/** Whole seconds, for messages. */
const secs = (ms: number) => Math.max(1, Math.round(ms / 1000));

/**
 * Since when no new connection got through, if the host was cut off: an attempt that started
 * before its rollback was due failed or hung past it, and none got through from then until the
 * rollback was due.
 */
function cutSince(r: Reconnect, rollbackDueAt: number): number | undefined {
  const lastOk = Math.max(-Infinity, ...r.tries.filter((t) => t.okAt !== undefined && t.okAt < rollbackDueAt).map((t) => t.okAt!));
  // (an attempt that hung until after the rollback was not accepted either)
  return r.tries.find((t) => (t.okAt === undefined || t.okAt >= rollbackDueAt) && t.at > lastOk && t.at < rollbackDueAt)?.at;
}

/** Was the host cut off (no new connection from a failed attempt before its rollback was due
 * until that rollback)? */
export function wasCutOff(r: Reconnect, rollbackDueAt: number): boolean {
  return cutSince(r, rollbackDueAt) !== undefined;
}

/** "after applying, node-0 accepted no new SSH connection for 60 s" */
export function cutOffMessage(host: string, r: Reconnect, rollbackDueAt: number): string {
  const since = cutSince(r, rollbackDueAt) ?? r.startedAt;
  const until = r.tries.find((t) => t.okAt !== undefined && t.okAt >= rollbackDueAt)?.okAt ?? Date.now();
  return `after applying, ${host} accepted no new SSH connection for ${secs(until - since)} s`;
}

/**
 * On a connection to a host that rolled back by itself: is the previous file back (byte for
 * byte, or no file), and are the previous routes in the kernel and the new ones gone? Returns the
 * problems; empty when all is back.
 */
async function checkRolledBack(conn: RemoteHost, h: HostPlan, stack: StackModule, path: string, previous: string | null, routesScript: string): Promise<string[]> {
  const problems: string[] = [];
  const now = (await conn.readFile(path))?.toString('utf8') ?? null;
  if (now !== previous) problems.push(previous === null ? `${path} is still there (there was none before the push)` : `${path} is not the file it was before the push`);
  const r = await conn.execScript(routesScript, []);
  if (r.code !== 0) return [...problems, `cannot read the routing table: ${r.stderr.trim()}`];
  const old = previous === null ? [] : stack.routes(previous);
  const oldRoutes = old.map((x) => ({ family: (x.to.includes(':') ? 6 : 4) as 4 | 6, to: x.to, via: x.via, owner: '' }));
  const added = h.routes.map((x) => x.to).filter((to) => !old.some((o) => o.to === to));
  // (the metric of the previous file, not of the plan that was rolled back)
  const check = checkRoutes(parseKernelRoutes(r.stdout), oldRoutes, h.settings.interface!, old.find((x) => x.metric !== undefined)?.metric, added);
  if (!routeCheckOk(check)) problems.push(...describeRouteCheck(check).map((p) => `kernel: ${p}`));
  return problems;
}

/**
 * What to look at on a host the change cut off: which file defines the interface, as the host
 * itself says now that the previous configuration is back, against where routegen wrote.
 */
async function whatToLookAt(conn: RemoteHost, h: HostPlan, path: string, failedCopy: string): Promise<string> {
  const iface = h.settings.interface!;
  const kept = `the file that cut it off is kept on the host as ${failedCopy}`;
  const d = await discoverHost(conn, h).catch(() => undefined);
  if (h.settings.stack === 'netplan' && d?.stack === 'netplan' && d.netplanId && d.netplanId !== h.settings.netplanId) {
    return (
      `netplan defines ${iface} as ${d.netplanSection ?? 'ethernets'}.${d.netplanId}${d.netplanFile ? ` in ${d.netplanFile}` : ''}, but routegen wrote its routes under ` +
      `${h.settings.netplanSection ?? 'ethernets'}.${h.settings.netplanId}: a second definition, which took ${iface} without its address. ` +
      `Remove netplan-id (or set it to ${d.netplanId}) in routegen.yaml and push again; ${kept}`
    );
  }
  if (d?.interface && d.interface !== iface) {
    return `${h.name}'s address is on ${d.interface}, not ${iface}: fix interface in routegen.yaml (or --interface) and push again; ${kept}`;
  }
  const definedBy = d?.networkdFile ?? (d?.netplanFile ? `${d.netplanFile} (${d.netplanSection ?? 'ethernets'}.${d.netplanId})` : undefined);
  return `look at ${definedBy ? `${definedBy}, which defines ${iface}, and ` : `the file that defines ${iface} and `}${path} together (${d?.stack === 'netplan' ? '`netplan get`' : `\`networkctl status ${iface}\``} on the host); ${kept}`;
}

/** What pushHost knows when the host's own timer rolled the change back before routegen could
 * confirm it (or roll it back itself). */
export interface HostRollback {
  probe: Reconnect;
  /** When the host armed its rollback, and when it was due (epoch ms). */
  armedAt: number;
  rollbackDueAt: number;
  confirmTimeoutS: number;
  /** How long after rollbackDueAt routegen kept trying (--rollback-grace, or rollbackMarginS). */
  graceS: number;
  h: HostPlan;
  stack: StackModule;
  path: string;
  /** The file before the push (null: there was none). */
  previous: string | null;
  /** Where the host keeps the file its rollback replaced. */
  failedCopy: string;
  routesScript: string;
}

/**
 * The true cause of a rollback the host did by itself, for the report: cut off (with what was
 * checked on the host once it was back, and what to look at) or merely slow. `rolledBack`:
 * the host is reachable with its previous configuration.
 */
export async function explainHostRollback(a: HostRollback): Promise<{ message: string; hint: string; problems: string[]; rolledBack: boolean }> {
  const { probe, h } = a;
  if (!wasCutOff(probe, a.rollbackDueAt)) {
    return {
      message: `the change was rolled back on the host before it could be confirmed: ${h.name} was reachable, but applying and verifying took ${secs(Date.now() - a.armedAt)} s of --confirm-timeout ${a.confirmTimeoutS} s`,
      hint: 'raise --confirm-timeout and push again',
      problems: [],
      rolledBack: true,
    };
  }
  if (!probe.conn) {
    return {
      message: `${cutOffMessage(h.name, probe, a.rollbackDueAt)}, not even ${a.graceS} s after its automatic rollback was due (--confirm-timeout ${a.confirmTimeoutS} s)${probe.lastError ? `: ${probe.lastError.message}` : ''}`,
      hint: `the host rolls back by itself, but it is still unreachable: look at it on its console (is sshd running? is its address back? ${a.failedCopy} is the file routegen wrote)`,
      problems: [],
      rolledBack: false,
    };
  }
  const problems = await checkRolledBack(probe.conn, h, a.stack, a.path, a.previous, a.routesScript);
  const back = problems.length === 0 ? 'its previous file and routes are back' : 'not all of its previous configuration is back (see the problems)';
  return {
    message: `${cutOffMessage(h.name, probe, a.rollbackDueAt)}: the change cut it off until it rolled back by itself after --confirm-timeout ${a.confirmTimeoutS} s; ${back}`,
    hint: `${await whatToLookAt(probe.conn, h, a.path, a.failedCopy)}. A longer --confirm-timeout would only keep it cut off longer`,
    problems,
    rolledBack: problems.length === 0,
  };
}
