/** `routegen push` and `routegen diff`, and what the remote commands share: the SSH settings, Ctrl-C, the per-host report. */
import { escapeControl, UserError } from '../errors.js';
import { onInterrupt, releaseInterrupts } from '../interrupt.js';
import { RemoteError } from '../remote/errors.js';
import { Reach } from '../remote/reach.js';
import { Progress } from '../progress.js';
import { hostErrorDetails } from './hostErrorLines.js';
import { runHosts } from '../push/run.js';
import type { HostResult, Outcome } from '../push/pushHost.js';
import { plural, table, type Colors } from '../report.js';
import { OPTIONS, type ArgsOf } from '../options.js';
import { loadInputs, type Io } from './common.js';

/** The options every remote command takes (discover's: the others add to them). */
export type RemoteArgs = ArgsOf<'discover'>;

/** push's options; diff takes the same but for --dry-run and the commit's timeouts. */
export type PushArgs = ArgsOf<'diff'> & Partial<ArgsOf<'push'>>;

const BAD: Outcome[] = ['failed', 'rolled back'];

/**
 * Runs `fn` with the SSH settings every remote command takes from its flags, then ends the
 * run's jump host connections and prints, once each, the ssh config options routegen did
 * not honour.
 */
export async function withSsh<T>(args: RemoteArgs, io: Io, fn: (opts: { ssh: Reach; commandTimeoutS: number }) => Promise<T>): Promise<T> {
  if (args.jump !== undefined) {
    try {
      Reach.checkJump(args.jump);
    } catch (e) {
      if (e instanceof RemoteError) throw new UserError(e.message, { kind: 'usage', hint: e.hint });
      throw e;
    }
  }
  const ssh = new Reach({
    ...(args['ssh-config'] !== undefined && { configFile: args['ssh-config'] }),
    ...(args.jump !== undefined && { jump: args.jump }),
    ...(args['accept-new'] !== undefined && { acceptNew: args['accept-new'] }),
    connectTimeoutMs: args['connect-timeout'] * 1000,
    commandTimeoutMs: args['command-timeout'] * 1000,
  });
  try {
    return await fn({ ssh, commandTimeoutS: args['command-timeout'] });
  } finally {
    await ssh.close();
    for (const w of ssh.warnings()) io.err(`${io.ce.yellow('warning:')} ${w}`);
  }
}

/**
 * Ctrl-C (and SIGTERM, as a service manager sends) during a run over hosts: the first starts no
 * new host and lets the ones in flight finish or roll back; a second quits at once. An interrupt
 * that came while routegen was starting (bin/routegen.js catches them first) counts at once.
 * Returns whether the run was asked to stop.
 */
export function stopOnInterrupt(io: Io, progress: Progress): () => boolean {
  let stopped = false;
  onInterrupt((n) => {
    if (n > 1) {
      progress.stop();
      io.err('Interrupted again: quitting now. Hosts in flight roll back by themselves when their confirm timeout passes.');
      process.exit(130);
    }
    stopped = true;
    io.err('Interrupted: no new hosts will start; finishing (or rolling back) the ones in flight. Ctrl-C again to quit at once.');
  });
  return () => stopped;
}

function paint(c: Colors, o: Outcome): string {
  switch (o) {
    case 'changed':
    case 'repaired':
      return c.green(o);
    case 'unchanged':
      return c.dim(o);
    case 'would change':
      return c.yellow(o);
    default:
      return c.red(o);
  }
}

/** One finished host, as a progress line. */
function hostLine(c: Colors, r: HostResult): string {
  const mark = BAD.includes(r.outcome) ? c.red('✗') : c.green('✓');
  return `${mark} ${r.host}  ${paint(c, r.outcome)}  ${c.dim(`${r.seconds.toFixed(1)}s`)}${r.error ? `  ${escapeControl(r.error.message)}` : ''}`;
}

/** What failed and what to try, host by host. */
export function failureReport(c: Colors, results: HostResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    if (!r.error && !r.problems?.length) continue;
    if (!r.error && r.outcome !== 'repaired') continue;
    // Text from the host (its errors, its files, its routes) is shown escaped, never raw.
    const head = r.error ? `${c.bold(r.host)} (${r.address}) ${r.outcome} at ${r.error.step}: ${escapeControl(r.error.message)}` : `${c.bold(r.host)} was repaired: the kernel lacked routes its file has`;
    out.push(head);
    for (const p of r.problems ?? []) out.push(`  route: ${escapeControl(p)}`);
    if (r.error) out.push(...hostErrorDetails(c, r.error, 8));
  }
  return out;
}

function summaryLine(results: HostResult[], seconds: number): string {
  const counts = new Map<Outcome, number>();
  for (const r of results) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  const parts = [...counts].map(([o, n]) => `${n} ${o}`);
  return `${plural(results.length, 'host')}: ${parts.join(', ')} in ${seconds.toFixed(1)}s.`;
}

function count(v: number | undefined): string {
  return v === undefined ? '-' : String(v);
}

/**
 * `routegen push` (and, with diffOnly, `routegen diff`): every selected host on its own
 * connection, in parallel, with a live line per host on a terminal and a table at the end.
 */
export async function pushCommand(args: PushArgs, io: Io, mode: 'push' | 'diff' = 'push'): Promise<number> {
  const { plan, hosts } = loadInputs(args);
  const dry = mode === 'diff' || Boolean(args['dry-run']);
  const progress = new Progress(hosts.length, args.json || args.quiet ? 'off' : io.isTTY ? 'live' : 'lines', io.ce);
  const stopped = stopOnInterrupt(io, progress);
  const t0 = Date.now();
  let results: HostResult[];
  try {
    results = await withSsh(args, io, (ssh) => runHosts(plan, hosts, {
      parallel: args.parallel,
      dryRun: mode === 'push' && args['dry-run'],
      diffOnly: mode === 'diff',
      ...ssh,
      confirmTimeoutS: args['confirm-timeout'] ?? OPTIONS['confirm-timeout'].default,
      rollbackGraceS: args['rollback-grace'],
      verifyTimeoutS: args['verify-timeout'] ?? OPTIONS['verify-timeout'].default,
      inventoryName: plan.inventory.name,
      cluster: plan.inventory.machines.flatMap((m) => m.podSubnets),
      onStart: (h) => progress.start(h),
      onStep: (h, s) => progress.step(h, s),
      onDone: (r) => progress.finish(r, hostLine(io.ce, r)),
      stopped,
    }));
  } finally {
    progress.stop();
    releaseInterrupts();
  }
  const seconds = (Date.now() - t0) / 1000;
  const bad = results.filter((r) => BAD.includes(r.outcome));
  const ok = bad.length === 0 && !stopped();

  if (args.json) {
    io.out(JSON.stringify({ command: mode, dryRun: dry, ok, seconds, hosts: results }, null, 2));
    return ok ? 0 : 1;
  }
  const { c } = io;
  if (dry) {
    for (const r of results) {
      if (!r.diff) continue;
      const colored = r.diff
        .split('\n')
        .map((l) => escapeControl(l))
        .map((l) => (l.startsWith('+') && !l.startsWith('+++') ? c.green(l) : l.startsWith('-') && !l.startsWith('---') ? c.red(l) : l.startsWith('@@') ? c.cyan(l) : l))
        .join('\n');
      io.out(`${c.bold(`# ${r.host}`)} ${c.dim(`(${r.address})`)}\n${colored}`);
    }
  }
  if (!args.quiet) {
    io.out(
      table(
        ['HOST', 'RESULT', 'ROUTES', 'ADDED', 'REMOVED', 'TIME', 'STACK'],
        results.map((r) => [r.host, paint(c, r.outcome), String(r.routes), count(r.added), count(r.removed), `${r.seconds.toFixed(1)}s`, r.stack ? `${r.stack} ${r.interface}` : '-']),
        { align: ['l', 'l', 'r', 'r', 'r', 'r', 'l'], c },
      ),
    );
  }
  const failures = failureReport(c, results);
  if (failures.length) io.out(`\n${failures.join('\n')}`);
  io.out(`\n${summaryLine(results, seconds)}${dry ? ' Nothing was written.' : ''}${stopped() ? ' Interrupted.' : ''}`);
  return ok ? 0 : 1;
}
