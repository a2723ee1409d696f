/** `routegen remove`: takes routegen off the hosts with push's safety, and reports per host. */
import { releaseInterrupts } from '../interrupt.js';
import { Progress } from '../progress.js';
import { removeHost, type RemoveResult } from '../push/removeHost.js';
import { runHosts } from '../push/run.js';
import { STATE_DIR } from '../push/protocol.js';
import { plural, table, type Colors } from '../report.js';
import { loadInputs, type Io } from './common.js';
import type { ArgsOf } from '../options.js';
import { failureReport, stopOnInterrupt, withSsh } from './push.js';

type Verdict = 'removed' | 'would remove' | 'nothing to remove' | 'failed' | 'rolled back';

/** One word for what happened on a host: its file and its state taken together. */
function verdict(r: RemoveResult): Verdict {
  if (r.outcome === 'failed' || r.outcome === 'rolled back') return r.outcome;
  if (r.outcome === 'would change' || r.state === 'would remove') return 'would remove';
  return r.outcome === 'changed' || r.state === 'removed' ? 'removed' : 'nothing to remove';
}

function paint(c: Colors, v: Verdict): string {
  return v === 'removed' ? c.green(v) : v === 'would remove' ? c.yellow(v) : v === 'nothing to remove' ? c.dim(v) : c.red(v);
}

/**
 * `routegen remove`: takes routegen's file (or, on NetworkManager, its routes in the keyfile),
 * its routes in the kernel, its state and helper script off every selected host, with push's
 * commit-confirmed safety; `--dry-run` prints what would go and changes nothing.
 */
export async function removeCommand(args: ArgsOf<'remove'>, io: Io): Promise<number> {
  const { plan, hosts } = loadInputs(args);
  const dry = Boolean(args['dry-run']);
  const { c } = io;
  const progress = new Progress(hosts.length, args.json || args.quiet ? 'off' : io.isTTY ? 'live' : 'lines', io.ce);
  const stopped = stopOnInterrupt(io, progress);
  const t0 = Date.now();
  let results: RemoveResult[];
  try {
    results = (await withSsh(args, io, (ssh) => runHosts(
      plan,
      hosts,
      {
        parallel: args.parallel,
        dryRun: dry,
        ...ssh,
        confirmTimeoutS: args['confirm-timeout'],
        rollbackGraceS: args['rollback-grace'],
        verifyTimeoutS: args['verify-timeout'],
        inventoryName: plan.inventory.name,
        cluster: plan.inventory.machines.flatMap((m) => m.podSubnets),
        onStart: (h) => progress.start(h),
        onStep: (h, s) => progress.step(h, s),
        onDone: (r) => progress.finish(r, `${r.error ? c.red('✗') : c.green('✓')} ${r.host}  ${paint(io.ce, verdict(r as RemoveResult))}`),
        stopped,
      },
      removeHost,
    ))) as RemoveResult[];
  } finally {
    progress.stop();
    releaseInterrupts();
  }
  const seconds = (Date.now() - t0) / 1000;
  const ok = results.every((r) => !r.error) && !stopped();
  if (args.json) {
    io.out(JSON.stringify({ command: 'remove', dryRun: dry, ok, seconds, hosts: results.map((r) => ({ ...r, result: verdict(r) })) }, null, 2));
    return ok ? 0 : 1;
  }
  if (dry) {
    for (const r of results) {
      const goes = [r.diff ? r.diff : '', r.state === 'would remove' ? `${STATE_DIR}: routegen's helper script and state` : ''].filter(Boolean);
      if (goes.length) io.out(`${c.bold(`# ${r.host}`)} ${c.dim(`(${r.address})`)}\n${goes.join('\n')}`);
    }
  }
  if (!args.quiet) {
    io.out(
      table(
        ['HOST', 'RESULT', 'ROUTES', 'STATE', 'TIME', 'STACK'],
        results.map((r) => [r.host, paint(c, verdict(r)), r.removed === undefined ? '-' : String(r.removed), r.state, `${r.seconds.toFixed(1)}s`, r.stack ? `${r.stack} ${r.interface}` : '-']),
        { align: ['l', 'l', 'r', 'l', 'r', 'l'], c },
      ),
    );
  }
  const failures = failureReport(c, results);
  if (failures.length) io.out(`\n${failures.join('\n')}`);
  const counts = new Map<Verdict, number>();
  for (const r of results) counts.set(verdict(r), (counts.get(verdict(r)) ?? 0) + 1);
  io.out(`\n${plural(results.length, 'host')}: ${[...counts].map(([v, n]) => `${n} ${v}`).join(', ')} in ${seconds.toFixed(1)}s.${dry ? ' Nothing was changed.' : ''}${stopped() ? ' Interrupted.' : ''}`);
  return ok ? 0 : 1;
}
