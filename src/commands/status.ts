/** `routegen status` and `routegen rollback`: per host, read-only drift and putting back the file kept before the last push. */
import pLimit from 'p-limit';
import { escapeControl } from '../errors.js';
import { parseKubectlNodes } from '../inventory/kubectl.js';
import type { SubnetSource } from '../podPath.js';
import { hostPlan } from '../plan.js';
import { hostErrorDetails } from './hostErrorLines.js';
import { rollbackHost, statusHost, type RollbackResult, type StatusResult } from '../push/status.js';
import { plural, table } from '../report.js';
import { loadInputs, openInventory, type Io } from './common.js';
import { OPTIONS, type ArgsOf } from '../options.js';
import { withSsh } from './push.js';

export type StatusArgs = ArgsOf<'status'>;

/** What each Node object of `kubectl get nodes -o json` says of its pod subnets, by hostname. */
function clusterSubnets(file: string): Map<string, SubnetSource> {
  const input = openInventory(file, '--cluster file', 'give the output of `kubectl get nodes -o json` saved to a file');
  const nodes = parseKubectlNodes(input, file);
  return new Map(nodes.machines.map((m) => [m.hostname, { source: `${file} (Node ${m.hostname}, spec.podCIDRs)`, subnets: m.podSubnets.map((s) => s.text).sort() }]));
}

/** `routegen status`: read only; exit 0 when every host matches the plan, 1 on any drift. */
export async function statusCommand(args: StatusArgs, io: Io): Promise<number> {
  const { plan, hosts } = loadInputs(args);
  const cluster = plan.inventory.machines.flatMap((m) => m.podSubnets);
  const limit = pLimit(args.parallel);
  const subnets = args.cluster === undefined ? undefined : clusterSubnets(args.cluster);
  const t0 = Date.now();
  const results: StatusResult[] = await withSsh(args, io, (ssh) => {
    const opts = { ...ssh, verifyTimeoutS: OPTIONS['verify-timeout'].default, inventoryName: plan.inventory.name, clusterSubnets: subnets };
    return Promise.all(hosts.map((h) => limit(() => statusHost(hostPlan(plan, h), cluster, opts))));
  });
  const bad = results.filter((r) => !r.ok);
  if (args.json) {
    io.out(JSON.stringify({ command: 'status', ok: bad.length === 0, hosts: results }, null, 2));
    return bad.length ? 1 : 0;
  }
  const { c } = io;
  if (!args.quiet) {
    io.out(
      table(
        ['HOST', 'STATE', 'FILE', 'DRIFT', 'TIME'],
        results.map((r) => [
          r.host,
          r.error ? c.red('unreachable') : r.ok ? c.green('in sync') : c.yellow('drifted'),
          r.file ?? '-',
          r.error ? '-' : String(r.drift.length),
          `${r.seconds.toFixed(1)}s`,
        ]),
        { align: ['l', 'l', 'l', 'r', 'r'], c },
      ),
    );
  }
  const lines: string[] = [];
  for (const r of bad) {
    if (r.error) {
      // Text from the host is shown escaped, never raw.
      lines.push(`${c.bold(r.host)} (${r.address}): ${r.error.step} failed: ${escapeControl(r.error.message)}`, ...hostErrorDetails(c, r.error));
      continue;
    }
    for (const d of r.drift) lines.push(`${c.bold(r.host)}: ${escapeControl(d)}`);
    if (args.verbose && r.diff) lines.push(...r.diff.split('\n').map((l) => escapeControl(l)));
  }
  if (bad.some((r) => r.drift.some((d) => d.startsWith('pod subnet:')))) {
    lines.push(`\n${c.cyan('pod subnets:')} push cannot settle these: make ${plan.inventory.name}, the CNI config, the kubelet config and the Node's podCIDRs (assigned by kube-controller-manager) name the same subnet, then push.`);
  }
  if (lines.length) io.out(`\n${lines.join('\n')}`);
  const drifted = bad.filter((r) => !r.error).length;
  const unreachable = bad.length - drifted;
  io.out(
    `\n${bad.length === 0 ? `All ${plural(results.length, 'host')} match the plan.` : `${plural(results.length, 'host')}: ${results.length - bad.length} in sync, ${drifted} drifted${unreachable ? `, ${unreachable} unreachable` : ''}. \`routegen push\` puts files and routes back in line.`} (${((Date.now() - t0) / 1000).toFixed(1)}s)`,
  );
  return bad.length ? 1 : 0;
}

/** `routegen rollback`: put back the file kept before the last push, and apply it. */
export async function rollbackCommand(args: ArgsOf<'rollback'>, io: Io): Promise<number> {
  const { plan, hosts } = loadInputs(args);
  const limit = pLimit(args.parallel);
  const results: RollbackResult[] = await withSsh(args, io, (ssh) => {
    const opts = { ...ssh, verifyTimeoutS: OPTIONS['verify-timeout'].default, inventoryName: plan.inventory.name };
    return Promise.all(hosts.map((h) => limit(() => rollbackHost(hostPlan(plan, h), opts))));
  });
  const bad = results.filter((r) => !r.ok);
  if (args.json) {
    io.out(JSON.stringify({ command: 'rollback', ok: bad.length === 0, hosts: results }, null, 2));
    return bad.length ? 1 : 0;
  }
  const { c } = io;
  for (const r of results) {
    if (r.ok) io.out(`${c.green('✓')} ${r.host}: ${escapeControl(r.message)}`);
    else {
      io.out(`${c.red('✗')} ${r.host}: ${escapeControl(r.error?.message ?? 'failed')}`);
      for (const l of r.error ? hostErrorDetails(c, r.error) : []) io.out(l);
    }
  }
  io.out(`\n${plural(results.length, 'host')}: ${results.length - bad.length} rolled back, ${bad.length} failed.`);
  return bad.length ? 1 : 0;
}
