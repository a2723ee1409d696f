import { posix } from 'node:path';
import { cidrRange } from '../ip.js';
import type { RemoteHost } from '../remote/connection.js';
import { STACKS } from '../stacks/index.js';
import { keyfileRoutes, mergeKeyfileRoutes } from '../stacks/nmKeyfile.js';
import type { HostPlan, IpValue, StackName } from '../types.js';
import { extraRoutes } from './kernel.js';
import { describeError, StepError } from './failure.js';
import { connect, kernelRoutes } from './hostAccess.js';
import { connectName, stateKey } from './hostFile.js';
import { STATE_DIR } from './protocol.js';
import { pushHost, type HostResult, type PushOptions } from './pushHost.js';

/** What became of routegen's state directory (its helper script, backups, owned routes). */
export type StateOutcome = 'removed' | 'none' | 'would remove' | 'kept';

export interface RemoveResult extends HostResult {
  /** /var/lib/routegen: removed, was not there, would go (dry run), or kept (removal failed). */
  state: StateOutcome;
  /** Routes via a gateway into the cluster's pod subnets still in the kernel afterwards: not
   * from routegen's file (made by hand, or by something else), so remove leaves them. */
  leftover: string[];
}

/**
 * Takes routegen off one host: push's own engine applies an empty plan (routegen's file deleted;
 * on NetworkManager, the pod routes taken out of the keyfile), with the same backup, automatic
 * rollback, verification in the kernel and confirmation from a new connection. Only once that
 * is confirmed, a third connection (opened first, to see whether routegen had state there)
 * deletes routegen's state directory and helper script (and a networkd drop-in directory that
 * routegen's file leaves empty), and checks that no route into the cluster's pod subnets is left
 * in the kernel. A dry run changes nothing and says what would go.
 */
export async function removeHost(h0: HostPlan, opts: PushOptions): Promise<RemoveResult> {
  const t0 = Date.now();
  const res: RemoveResult = { host: h0.name, address: connectName(h0), outcome: 'failed', routes: 0, seconds: 0, state: 'kept', leftover: [] };
  let conn: RemoteHost | undefined;
  let step = 'connect';
  try {
    // This connection waits while push's engine runs on its own two, and then cleans up.
    opts.onStep?.(h0.name, 'connecting');
    conn = await connect(h0, opts);
    // Before the engine, which installs the helper script it runs.
    const hadState = (await conn.stat(STATE_DIR)) !== null;
    // pushHost's 'done' is ours to announce, once the state is gone.
    const onStep: PushOptions['onStep'] = (host, s) => {
      if (s !== 'done') opts.onStep?.(host, s);
    };
    const finalFile: PushOptions['finalFile'] = async (stack, path, computed) => {
      if (!stack.merges || computed === null) return computed;
      const orig = (await conn!.readFile(`${STATE_DIR}/${stateKey(path)}.orig`).catch(() => null))?.toString('utf8');
      return orig !== undefined && keyfileAsBefore(orig, computed, opts.cluster) ? orig : computed;
    };
    Object.assign(res, await pushHost({ ...h0, routes: [] }, { ...opts, onStep, finalFile }));
    if (!['changed', 'unchanged', 'would change'].includes(res.outcome) || !res.path) return res;
    step = 'remove state';
    if (opts.dryRun || opts.diffOnly) {
      res.state = hadState ? 'would remove' : 'none';
      return res;
    }
    if ((await conn.stat(STATE_DIR)) !== null) {
      // Constant arguments (and the stack's own path), checked by exec; as root, like the helper.
      const r = await conn.exec(['rm', '-rf', '--', STATE_DIR], { sudo: true });
      if (r.code !== 0 || (await conn.stat(STATE_DIR)) !== null) throw new StepError(step, `cannot delete ${STATE_DIR} (exit ${r.code})`, r.stderr);
    }
    res.state = hadState ? 'removed' : 'none';
    // networkd: the drop-in directory exists for routegen's file alone unless it holds others.
    const dir = posix.dirname(res.path);
    if (STACKS[res.stack as StackName]?.dropInDir && (await conn.stat(dir)) !== null && (await conn.list(dir)).length === 0) {
      const r = await conn.exec(['rmdir', '--', dir], { sudo: true });
      if (r.code !== 0) throw new StepError(step, `cannot delete the empty directory ${dir} (exit ${r.code})`, r.stderr);
    }
    step = 'verify';
    res.leftover = extraRoutes(await kernelRoutes(conn), [], opts.cluster, cidrRange).map((k) => `${k.dst} via ${k.gateway}${k.dev ? ` dev ${k.dev}` : ''}`);
    if (res.leftover.length) {
      res.problems = res.leftover.map((l) => `${l}: still in the kernel`);
      throw new StepError(step, `routes into the cluster's pod subnets are still in the kernel, though none is in ${res.path} any more`, undefined,
        'they were added by hand or by something else (`ip route del DESTINATION` removes one now; a reboot drops them unless another configuration adds them)');
    }
  } catch (e) {
    res.error = describeError(e, step);
    res.outcome = 'failed';
  } finally {
    await conn?.close().catch(() => undefined);
    res.seconds = (Date.now() - t0) / 1000;
    opts.onStep?.(h0.name, 'done');
  }
  return res;
}

/**
 * Whether the keyfile kept before routegen's first push (`orig`) can be put back as it was: it
 * has no route into the cluster's pod subnets, and without them it is what the engine computed
 * from today's keyfile (so the two differ only in routegen's routes and their numbering).
 */
export function keyfileAsBefore(orig: string, computed: string, cluster: IpValue[]): boolean {
  try {
    const withoutPods = mergeKeyfileRoutes(orig, [], cluster, cidrRange);
    const inCluster = keyfileRoutes(orig).some((r) => {
      const range = cidrRange(r.to);
      return range !== null && cluster.some((c) => c.family === range.family && c.start <= range.start && range.end <= c.end);
    });
    return !inCluster && withoutPods === computed;
  } catch {
    return false; // a keyfile routegen cannot read: the computed one stands
  }
}

