/** Read-only status of one host (file, kernel routes, pod subnets against the plan) and rolling one host back to the file kept before the last push. */
import { cidrRange } from '../ip.js';
import type { RemoteHost } from '../remote/connection.js';
import { podPathDisagreements, type SubnetSource } from '../podPath.js';
import { plural } from '../report.js';
import type { HostPlan, IpValue, Route } from '../types.js';
import { readPodPathSources } from './podPathHost.js';
import { checkRoutes, describeRouteCheck, extraRoutes, routeCheckOk } from './kernel.js';
import { describeError, type HostError } from './failure.js';
import { connect, HostHelper, kernelRoutes, requirePrivilege, resolveHost } from './hostAccess.js';
import { connectName, ownedRoutes, plannedFile, stateKey, unifiedDiff } from './hostFile.js';
import { EXIT, stateFile } from './protocol.js';
import type { PushOptions } from './pushHost.js';

export type FileState = 'in sync' | 'differs' | 'missing' | 'mode differs' | 'not planned';

export interface StatusResult {
  host: string;
  address: string;
  ok: boolean;
  path?: string;
  file?: FileState;
  /** Each drift in words: "10.200.1.0/24 via 192.168.10.102: missing from the kernel". */
  drift: string[];
  diff?: string;
  /** Every place that names this host's pod subnet: its CNI and kubelet configs, the cluster. */
  podSubnetSources?: SubnetSource[];
  seconds: number;
  error?: HostError;
}

type Opts = Pick<PushOptions, 'ssh' | 'commandTimeoutS' | 'inventoryName'> & { verifyTimeoutS: number };

/** status also takes what the cluster's Node objects say (`--cluster nodes.json`), by hostname. */
type StatusOpts = Opts & { clusterSubnets?: Map<string, SubnetSource> };

/**
 * Read only: is routegen's file on the host identical to the plan, is every planned route in
 * the kernel via the planned gateway, and are there routes into the cluster's pod subnets that
 * the plan does not have (stale or made by hand)?
 */
export async function statusHost(h0: HostPlan, cluster: IpValue[], opts: StatusOpts): Promise<StatusResult> {
  const t0 = Date.now();
  const res: StatusResult = { host: h0.name, address: connectName(h0), ok: false, drift: [], seconds: 0 };
  let conn: RemoteHost | undefined;
  let step = 'connect';
  try {
    conn = await connect(h0, opts);
    step = 'discover';
    const { h, stack, path } = await resolveHost(conn, h0);
    res.path = path;
    step = 'read';
    const cur = await conn.readFile(path);
    const current = cur?.toString('utf8') ?? null;
    const owned = stack.merges ? await ownedRoutes(conn, stateKey(path)) : [];
    const { planned } = plannedFile(stack, h, current, { inventoryName: opts.inventoryName, cluster }, owned);
    if (current === null) res.file = planned === null ? 'in sync' : 'missing';
    else if (planned === null) res.file = 'not planned';
    else if (current !== planned) res.file = 'differs';
    else res.file = (((await conn.stat(path))?.mode ?? 0) & 0o7777) === stack.mode ? 'in sync' : 'mode differs';
    if (res.file !== 'in sync') {
      res.drift.push(`${path}: ${res.file === 'missing' ? 'missing (never pushed?)' : res.file === 'not planned' ? 'present, but the plan has no routes for this host' : res.file}`);
      res.diff = unifiedDiff(path, current, planned);
    }
    const pending = await conn.stat(stateFile(stateKey(path), 'pending')).catch(() => null);
    if (pending) res.drift.push('a push is waiting for its confirmation (or was interrupted): it rolls back by itself');
    step = 'routes';
    const kernel = await kernelRoutes(conn);
    const check = checkRoutes(kernel, h.routes, h.settings.interface!, h.settings.metric);
    res.drift.push(...describeRouteCheck(check));
    for (const k of extraRoutes(kernel, h.routes, cluster, cidrRange)) {
      res.drift.push(`${k.dst} via ${k.gateway}${k.dev ? ` dev ${k.dev}` : ''}: in the kernel but not in the plan (stale or made by hand)`);
    }
    step = 'pod subnets';
    const sources = await readPodPathSources(conn);
    const fromCluster = opts.clusterSubnets?.get(h.name);
    if (fromCluster) sources.push(fromCluster);
    res.podSubnetSources = sources;
    res.drift.push(...podPathDisagreements(opts.inventoryName, h.podSubnets, sources));
    res.ok = res.drift.length === 0;
  } catch (e) {
    res.error = describeError(e, step);
  } finally {
    await conn?.close().catch(() => undefined);
    res.seconds = (Date.now() - t0) / 1000;
  }
  return res;
}

export interface RollbackResult {
  host: string;
  address: string;
  ok: boolean;
  path: string;
  message: string;
  seconds: number;
  error?: HostError;
}

/** Puts back the file routegen kept before its last push to the host, and applies it. */
export async function rollbackHost(h0: HostPlan, opts: Opts): Promise<RollbackResult> {
  const t0 = Date.now();
  const res: RollbackResult = { host: h0.name, address: connectName(h0), ok: false, path: '', message: '', seconds: 0 };
  let conn: RemoteHost | undefined;
  try {
    conn = await connect(h0, opts);
    const { h, stack, path, target } = await resolveHost(conn, h0);
    res.path = path;
    requirePrivilege(conn);
    const r = await HostHelper.once(conn, 'rollback', { key: stateKey(path), target, stack: h.settings.stack!, iface: h.settings.interface! });
    if (r.code === 127 || /can't open|No such file/.test(r.stderr)) {
      res.error = { step: 'rollback', message: `routegen has not pushed to ${h.name}: there is nothing to roll back` };
    } else if (r.code === EXIT.ok) {
      // The kernel must now hold what the restored file asks for.
      const restored = (await conn.readFile(path))?.toString('utf8') ?? null;
      const want: Route[] = restored === null ? [] : stack.routes(restored).map((x) => ({ family: x.to.includes(':') ? 6 : 4, to: x.to, via: x.via, owner: '' }));
      const deadline = Date.now() + opts.verifyTimeoutS * 1000;
      let check = checkRoutes(await kernelRoutes(conn), want, h.settings.interface!, undefined);
      while (!routeCheckOk(check) && Date.now() < deadline) {
        await new Promise((t) => setTimeout(t, 200));
        check = checkRoutes(await kernelRoutes(conn), want, h.settings.interface!, undefined);
      }
      res.ok = routeCheckOk(check);
      res.message = restored === null ? `removed ${path} (there was none before the last push), and applied that` : `restored the ${path} kept before the last push (${plural(want.length, 'route')}), and applied it`;
      if (!res.ok) res.error = { step: 'verify', message: `${res.message}, but the kernel does not match it: ${describeRouteCheck(check).join('; ')}` };
    } else {
      res.error = { step: 'rollback', message: r.code === EXIT.awaitingConfirm ? 'a push is waiting for its confirmation; it rolls back by itself' : `rollback failed (exit ${r.code})`, stderr: r.stderr.trim() || undefined };
    }
  } catch (e) {
    res.error = describeError(e, 'connect');
  } finally {
    await conn?.close().catch(() => undefined);
    res.seconds = (Date.now() - t0) / 1000;
  }
  return res;
}
