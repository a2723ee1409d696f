/**
 * The render benchmark: `routegen render --stack networkd` on synthetic clusters of 100, 1,000
 * and 3,000 workers (n² routes), against bench/reference/render.awk writing the same bytes.
 *
 * Targets (the benchmark issue): at 1,000 workers routegen takes at most 1.0x the awk
 * reference's wall time; peak RSS at most 256 MiB; time per route roughly constant from 100 to
 * 3,000 workers. Every figure is a median over several runs under `/usr/bin/time -v`; routegen
 * runs as a user runs it, `node bin/routegen.js render ... -q`, after `npm run build` if dist/ is
 * stale.
 *
 * Fairness: both programs read the same machines.txt from the same directory, write a fresh
 * output directory on the same file system, alternate who goes first, and start after `sync`
 * (so neither pays for the other's write-back). Outputs are kept until the benchmark ends: on
 * ext4 without a journal, deleting thousands of files makes the next thousands of creates slow
 * for minutes (see lib/fsprobe.ts); `--delete-between-runs` shows that effect.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchResult, Benchmark, OptionValues } from './lib/benchmark.js';
import { waitForCheapInodes } from './lib/fsprobe.js';
import { expectedOutput, machinesTxt } from './lib/inventory.js';
import { formatBytes, freeBytes, fsType, programVersion } from './lib/machine.js';
import { max, median, medianCpu, medianWall, min, requireGnuTime, timeV, type Measurement } from './lib/measure.js';
import { waitForQuiet } from './lib/quiet.js';
import { describeCheckout, ensureBuilt, REPO } from './lib/routegen.js';
import { num, type ResultTable, type Row } from './lib/table.js';

export const AWK_SCRIPT = fileURLToPath(new URL('./reference/render.awk', import.meta.url));
/** Where each host's file lands under --out (networkd, interface eth1, default networkd file). */
export const HOST_FILE = 'etc/systemd/network/10-eth1.network.d/60-routegen-pod-routes.conf';
const VERIFY_WORKERS = 100;
const MiB = 2 ** 20;
const TARGET_RATIO = 1.0;
const TARGET_RSS_MIB = 256;
/** "Roughly constant" time per route: the largest µs/route at most this many times the smallest. */
const TARGET_PER_ROUTE_SPREAD = 1.5;
/** Creating an inode on a settled file system costs ~5 µs (tmpfs) to ~30 µs (ext4) here. */
const INODE_COST_THRESHOLD_US = 100;

export interface RenderBenchOptions {
  sizes: number[];
  runs: number;
  /** Runs for sizes of at least `largeFrom` workers. */
  runsLarge: number;
  largeFrom: number;
  /** Parent of the work directory (inventories and outputs). */
  dir: string;
  /** The routegen checkouts to measure (usually one; several are measured interleaved, e.g. a
   * baseline and a fix, so that a busy machine affects them alike). */
  repos: string[];
  build: boolean;
  keep: boolean;
  deleteBetweenRuns: boolean;
  settleS: number;
  /** Before each measurement, wait at most this long for the machine to be idle. */
  quietWaitS: number;
  minFreeForLargeBytes: number;
}

/** 'awk', or the label of a routegen checkout. */
type Program = string;

interface Subject {
  label: string;
  repo: string;
}

export interface SizeResult {
  workers: number;
  routes: number;
  files: number;
  bytes: number;
  /** Measurements per program: 'awk' and each routegen checkout's label. */
  runs: Record<Program, Measurement[]>;
  /** Cores others kept busy just before each measurement (same order as `runs`). */
  busyBefore: Record<Program, number[]>;
  skipped?: string;
}

export interface RenderBenchResult {
  subjects: Subject[];
  startup: SizeResult;
  sizes: SizeResult[];
  notes: string[];
}

// ---- running the two programs -------------------------------------------------------------

function argv(repo: string | null, out: string): string[] {
  if (repo !== null) {
    return [process.execPath, join(repo, 'bin/routegen.js'), 'render', '-i', 'machines.txt', '--stack', 'networkd', '--interface', 'eth1', '--out', out, '-q'];
  }
  // The umask gives the files routegen's mode (0644); exec so GNU time measures awk itself.
  return ['sh', '-c', 'umask 022 && exec awk -v out="$1" -v iface=eth1 -f "$2" machines.txt', 'sh', out, AWK_SCRIPT];
}

/** The child's environment: no colour, and nothing of this process's own loader (tsx). */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NODE_OPTIONS;
  return env;
}

function sync(): void {
  spawnSync('sync', [], { stdio: 'ignore' });
}

/** Runs routegen from `repo`, or the awk reference when repo is null. */
function measure(repo: string | null, cwd: string, out: string): Measurement {
  return timeV(argv(repo, out), { cwd, env: childEnv() });
}

// ---- checking what they wrote --------------------------------------------------------------

interface Tree {
  /** relative path → mode */
  files: Map<string, number>;
  bytes: number;
}

function walk(root: string): Tree {
  const files = new Map<string, number>();
  let bytes = 0;
  const visit = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(p, r);
      else {
        const st = lstatSync(p);
        files.set(r, st.mode & 0o7777);
        bytes += st.size;
      }
    }
  };
  visit(root, '');
  return { files, bytes };
}

/** The check the benchmark stands on: both programs write byte-identical trees (diff -r) with the
 * same modes, and the right number of routes. Throws, loudly, otherwise. */
export function verifyIdentical(work: string, subject: Subject, log: (s: string) => void): void {
  const dir = join(work, `verify-${VERIFY_WORKERS}-${subject.label}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'machines.txt'), machinesTxt(VERIFY_WORKERS));
  const rg = join(dir, 'routegen');
  const awk = join(dir, 'awk');
  sync();
  measure(subject.repo, dir, rg);
  measure(null, dir, awk);
  const diff = spawnSync('diff', ['-r', rg, awk], { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (diff.status !== 0) {
    const shown = `${diff.stdout}${diff.stderr}`.split('\n').slice(0, 40).join('\n');
    throw new Error(`BENCHMARK INVALID: routegen and the awk reference do not write the same files for ${VERIFY_WORKERS} workers (diff -r ${rg} ${awk} exited ${diff.status}):\n${shown}\n(kept in ${dir})`);
  }
  const a = walk(rg);
  const b = walk(awk);
  const modes = (t: Tree) => [...t.files].map(([f, m]) => `${m.toString(8)} ${f}`).sort().join('\n');
  if (modes(a) !== modes(b)) throw new Error(`BENCHMARK INVALID: same bytes but different modes:\nroutegen:\n${modes(a)}\nawk:\n${modes(b)}`);
  const expected = expectedOutput(VERIFY_WORKERS);
  const routes = [...a.files.keys()].reduce((n, f) => n + (readFileSync(join(rg, f), 'utf8').match(/^\[Route\]$/gm)?.length ?? 0), 0);
  if (a.files.size !== expected.files || routes !== expected.routes || [...a.files.values()].some((m) => m !== 0o644)) {
    throw new Error(`BENCHMARK INVALID: expected ${expected.files} files of mode 0644 with ${expected.routes} routes, got ${a.files.size} files with ${routes} routes`);
  }
  log(`verified: for ${VERIFY_WORKERS} workers routegen (${subject.label}) and awk write identical trees (diff -r, modes): ${a.files.size} files, ${routes} routes, ${formatBytes(a.bytes)}`);
}

// ---- the benchmark -------------------------------------------------------------------------

function estimateBytes(workers: number): number {
  const e = expectedOutput(workers);
  return e.routes * 60 + e.files * 6 * 4096; // ~57 bytes a route, 5 directories and a file's slack a host
}

/** Short, unique names for the checkouts: their directory names (or their position). */
function labels(repos: string[]): Subject[] {
  const names = repos.map((r) => basename(r) || r);
  const unique = new Set(names).size === names.length;
  return repos.map((repo, i) => ({ repo, label: unique ? names[i]! : `${i + 1}:${names[i]}` }));
}

export async function runRenderBenchmark(opts: RenderBenchOptions, ctx: BenchContext): Promise<RenderBenchResult> {
  const log = ctx.log;
  requireGnuTime();
  const subjects = labels(opts.repos);
  if (opts.build) for (const s of subjects) ensureBuilt(s.repo, log);
  const notes: string[] = [];
  mkdirSync(opts.dir, { recursive: true });
  const work = mkdtempSync(join(opts.dir, 'routegen-bench-'));
  const fs = fsType(work);
  log(`work directory ${work} (${fs.type} on ${fs.mount}, ${formatBytes(freeBytes(work))} free)`);
  notes.push(`outputs on ${fs.type} (${fs.mount}); awk is \`${programVersion(['awk', '-W', 'version'])}\``);
  for (const s of subjects) notes.push(`routegen${subjects.length > 1 ? ` "${s.label}"` : ''}: ${describeCheckout(s.repo)}`);
  const cleanup = () => {
    if (opts.keep) return;
    log(`removing ${work}`);
    rmSync(work, { recursive: true, force: true });
  };
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (opts.settleS > 0) {
      const s = await waitForCheapInodes(work, { thresholdUs: INODE_COST_THRESHOLD_US, maxWaitS: opts.settleS, log });
      log(`file system: ${s.costUs.toFixed(0)} µs per new inode${s.waitedS > 1 ? ` after waiting ${s.waitedS.toFixed(0)} s` : ''}`);
      if (!s.settled) notes.push(`WARNING: creating an inode cost ${s.costUs.toFixed(0)} µs when timing started (settled is < ${INODE_COST_THRESHOLD_US} µs): figures include file-system overhead`);
    }
    for (const s of subjects) verifyIdentical(work, s, log);
    const programs: Array<{ name: Program; repo: string | null }> = [...subjects.map((s) => ({ name: s.label, repo: s.repo })), { name: 'awk', repo: null }];

    const runSize = async (workers: number, runs: number): Promise<SizeResult> => {
      const e = expectedOutput(workers);
      const result: SizeResult = {
        workers,
        routes: e.routes,
        files: e.files,
        bytes: 0,
        runs: Object.fromEntries(programs.map((p) => [p.name, []])),
        busyBefore: Object.fromEntries(programs.map((p) => [p.name, []])),
      };
      const need = estimateBytes(workers) * programs.length * (opts.deleteBetweenRuns ? 1 : runs) + 256 * MiB;
      const free = freeBytes(work);
      const floor = workers >= 3000 ? opts.minFreeForLargeBytes : 0;
      if (free < Math.max(need, floor)) {
        result.skipped = `${workers} workers SKIPPED: needs ~${formatBytes(Math.max(need, floor))} free on ${opts.dir}, ${formatBytes(free)} free (use --dir on a larger file system, fewer --runs-large, or --delete-between-runs)`;
        log(result.skipped);
        return result;
      }
      const dir = join(work, `w${workers}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'machines.txt'), machinesTxt(workers));
      let reference: Tree | undefined;
      for (let k = 1; k <= runs; k++) {
        // Who goes first rotates from run to run.
        const order = programs.map((_, i) => programs[(i + k - 1) % programs.length]!);
        for (const program of order) {
          const out = join(dir, `${program.name}-${k}`);
          sync(); // neither pays for the write-back of what ran before it
          const busy = await waitForQuiet(opts.quietWaitS);
          const m = measure(program.repo, dir, out);
          result.busyBefore[program.name]!.push(busy);
          const tree = walk(out);
          reference ??= tree;
          if (tree.files.size !== e.files || tree.bytes !== reference.bytes) {
            throw new Error(`${program.name} wrote ${tree.files.size} files, ${tree.bytes} bytes for ${workers} workers; expected ${e.files} files, ${reference.bytes} bytes`);
          }
          result.runs[program.name]!.push(m);
          log(`  ${String(workers).padStart(5)} workers  run ${k}/${runs}  ${program.name.padEnd(10)} ${m.wallHrS.toFixed(3)} s wall  ${(m.maxRssKb / 1024).toFixed(0)} MiB peak`);
          if (opts.deleteBetweenRuns) rmSync(out, { recursive: true, force: true });
        }
      }
      result.bytes = reference?.bytes ?? 0;
      return result;
    };

    log('startup: 1 worker (1 route), the fixed cost of each program');
    const startup = await runSize(1, opts.runs);
    const sizes: SizeResult[] = [];
    for (const w of opts.sizes) sizes.push(await runSize(w, w >= opts.largeFrom ? opts.runsLarge : opts.runs));
    return { subjects, sizes, startup, notes };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    cleanup();
  }
}

// ---- the table -----------------------------------------------------------------------------

const wall = medianWall;
const peakMiB = (ms: Measurement[]) => max(ms.map((m) => m.maxRssKb)) / 1024;
const cpu = medianCpu;

export function renderTable(r: RenderBenchResult): { table: ResultTable; targetsMet: boolean } {
  const measured = r.sizes.filter((s) => !s.skipped);
  const of = (s: SizeResult, p: Program) => s.runs[p] ?? [];
  const startAwk = wall(of(r.startup, 'awk'));
  const rows: Row[] = [];
  for (const s of [r.startup, ...r.sizes]) {
    const startupRow = s === r.startup;
    for (const { label } of r.subjects) {
      const base = { workers: startupRow ? '1 (startup)' : num(s.workers), routes: num(s.routes), label };
      if (s.skipped) {
        rows.push({ ...base, rg: 'skipped' });
        continue;
      }
      const ms = of(s, label);
      const rg = wall(ms);
      const awk = wall(of(s, 'awk'));
      const startRg = wall(of(r.startup, label));
      rows.push({
        ...base,
        mb: num(s.bytes / 1e6, s.bytes < 1e7 ? 2 : 0),
        runs: String(ms.length),
        rg: rg.toFixed(3),
        rgRange: `${min(ms.map((m) => m.wallHrS)).toFixed(2)}–${max(ms.map((m) => m.wallHrS)).toFixed(2)}`,
        awk: awk.toFixed(3),
        ratio: `${(rg / awk).toFixed(2)}x`,
        cpuRatio: cpu(of(s, 'awk')) > 0 ? `${(cpu(ms) / cpu(of(s, 'awk'))).toFixed(2)}x` : '–', // GNU time counts CPU in 0.01 s
        rgRss: num(peakMiB(ms)),
        awkRss: num(peakMiB(of(s, 'awk')), 1),
        rgUs: startupRow ? '' : num((rg * 1e6) / s.routes, 2),
        rgUsNet: startupRow ? '' : num(((rg - startRg) * 1e6) / s.routes, 2),
        awkUs: startupRow ? '' : num((awk * 1e6) / s.routes, 2),
        awkUsNet: startupRow ? '' : num(((awk - startAwk) * 1e6) / s.routes, 2),
      });
    }
  }

  const notes = [...r.notes];
  const all = [r.startup, ...measured].flatMap((s) => Object.values(s.runs).flat());
  const skews = all.map((m) => m.wallHrS - m.wallS);
  notes.push(
    `wall times: the monotonic clock around \`/usr/bin/time -v\` (GNU time's own Elapsed has 0.01 s resolution; ours is ${(median(skews) * 1000).toFixed(0)} ms above it in the median run, ${(max(skews) * 1000).toFixed(0)} ms at most); ` +
      'peak RSS: GNU time\'s maximum resident set size, the largest of all runs; CPU ratio: median user+sys time over the awk reference\'s',
  );
  const busy = [r.startup, ...measured].flatMap((s) => Object.values(s.busyBefore ?? {}).flat());
  if (busy.length) {
    const waitedOut = busy.filter((b) => b >= 0.25).length;
    notes.push(
      `machine load just before each measurement (others' work, in busy cores): median ${median(busy).toFixed(2)}, max ${max(busy).toFixed(2)}; ` +
        `${waitedOut} of ${busy.length} measurements started on a busy machine after waiting the --quiet-wait out`,
    );
  }
  // Per route: a + b/n + c/n² for n workers (startup once, directories and files per host,
  // bytes per route), so it can only be flat where routes dominate. Both ranges are shown.
  const perRoute = (list: SizeResult[], p: Program) => list.map((s) => (wall(of(s, p)) * 1e6) / s.routes);
  const spreadOf = (xs: number[]) => max(xs) / min(xs);
  const fmt = (xs: number[]) => `${xs.map((x) => x.toFixed(2)).join(' / ')} (largest/smallest ${spreadOf(xs).toFixed(2)})`;
  let met = true;
  for (const { label } of r.subjects) {
    const who = r.subjects.length > 1 ? `routegen "${label}"` : 'routegen';
    const startRg = wall(of(r.startup, label));
    const at1000 = measured.find((s) => s.workers === 1000);
    if (at1000) {
      const ratio = wall(of(at1000, label)) / wall(of(at1000, 'awk'));
      const ok = ratio <= TARGET_RATIO;
      met &&= ok;
      notes.push(`${ok ? 'MET' : 'NOT MET'}: ${who}, 1,000 workers: ${ratio.toFixed(2)}x the awk reference's wall time (target ≤ ${TARGET_RATIO.toFixed(1)}x)`);
    } else {
      notes.push(`not evaluated: ${who}'s 1,000-worker ratio (size not measured)`);
    }
    if (measured.length) {
      const peak = max(measured.map((s) => peakMiB(of(s, label))));
      const ok = peak <= TARGET_RSS_MIB;
      met &&= ok;
      notes.push(`${ok ? 'MET' : 'NOT MET'}: ${who}, peak RSS ${peak.toFixed(0)} MiB at most (target ≤ ${TARGET_RSS_MIB} MiB)`);
    }
    const ranged = measured.filter((s) => s.workers >= 100 && s.workers <= 3000);
    if (ranged.length >= 2) {
      const per = perRoute(ranged, label);
      const ok = spreadOf(per) <= TARGET_PER_ROUTE_SPREAD;
      met &&= ok;
      const net = ranged.map((s) => ((wall(of(s, label)) - startRg) * 1e6) / s.routes);
      notes.push(
        `${ok ? 'MET' : 'NOT MET'}: ${who}, µs/route over ${ranged.map((s) => num(s.workers)).join('→')} workers: ${fmt(per)}, target ≤ ${TARGET_PER_ROUTE_SPREAD}; ` +
          `without its ${startRg.toFixed(2)} s startup: ${fmt(net)}`,
      );
    }
    const big = measured.filter((s) => s.workers >= 1000);
    if (big.length >= 2) {
      const per = perRoute(big, label);
      const trend = spreadOf(per) <= TARGET_PER_ROUTE_SPREAD ? 'flat' : per[per.length - 1]! < per[0]! ? 'falling (fixed costs amortised)' : 'GROWING';
      notes.push(`${trend} where routes dominate: ${who}, µs/route over ${big.map((s) => num(s.workers)).join('→')} workers: ${fmt(per)}`);
    }
  }
  const ranged = measured.filter((s) => s.workers >= 100 && s.workers <= 3000);
  if (ranged.length >= 2) notes.push(`awk for comparison, µs/route over ${ranged.map((s) => num(s.workers)).join('→')} workers: ${fmt(perRoute(ranged, 'awk'))}`);
  notes.push(...r.sizes.filter((s) => s.skipped).map((s) => s.skipped!));
  return {
    targetsMet: met,
    table: {
      title: 'render: routegen render --stack networkd vs bench/reference/render.awk (same files)',
      columns: [
        { key: 'workers', title: 'workers', numeric: true },
        { key: 'routes', title: 'routes', numeric: true },
        { key: 'mb', title: 'MB written', numeric: true },
        { key: 'runs', title: 'runs', numeric: true },
        ...(r.subjects.length > 1 ? [{ key: 'label', title: 'routegen' }] : []),
        { key: 'rg', title: 'routegen wall s', numeric: true },
        { key: 'rgRange', title: 'routegen min–max', numeric: true },
        { key: 'awk', title: 'awk wall s', numeric: true },
        { key: 'ratio', title: 'ratio', numeric: true },
        { key: 'cpuRatio', title: 'CPU ratio', numeric: true },
        { key: 'rgRss', title: 'routegen peak RSS MiB', numeric: true },
        { key: 'awkRss', title: 'awk peak RSS MiB', numeric: true },
        { key: 'rgUs', title: 'routegen µs/route', numeric: true },
        { key: 'rgUsNet', title: 'routegen µs/route w/o startup', numeric: true },
        { key: 'awkUs', title: 'awk µs/route', numeric: true },
        { key: 'awkUsNet', title: 'awk µs/route w/o startup', numeric: true },
      ],
      rows,
      notes,
    },
  };
}

// ---- the module run.ts loads ---------------------------------------------------------------

function sizesOf(text: string): number[] {
  const sizes = text.split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 2)) throw new Error(`--sizes takes worker counts of at least 2, comma-separated: "${text}"`);
  return sizes;
}

function positive(name: string, text: string | boolean | undefined, allowZero = false): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) throw new Error(`--${name} takes a whole number${allowZero ? '' : ' ≥ 1'}, not "${String(text)}"`);
  return n;
}

export const benchmark: Benchmark = {
  name: 'render',
  description: 'routegen render (networkd) on 100/1,000/3,000 workers vs an awk program writing the same files',
  options: {
    sizes: { type: 'string', default: '100,1000,3000', describe: 'worker counts (each plus one server; n² routes)' },
    runs: { type: 'string', default: '5', describe: 'timed runs of each program per size' },
    'runs-large': { type: 'string', default: '3', describe: 'runs for sizes of 3,000 workers and more' },
    dir: { type: 'string', describe: 'where inventories and outputs go [default: the OS temp dir, e.g. /tmp]' },
    repo: { type: 'string', describe: 'routegen checkout(s) to measure, comma-separated: several are measured interleaved (e.g. a baseline and a fix) [default: this one]' },
    'no-build': { type: 'boolean', describe: 'do not run npm run build when dist/ is stale' },
    keep: { type: 'boolean', describe: 'keep the work directory (inventories and every output)' },
    'delete-between-runs': { type: 'boolean', describe: 'delete each output right after it is measured (less disk; slows later creates on ext4 without a journal)' },
    settle: { type: 'string', default: '330', describe: 'seconds to wait at most for the file system to forget recent deletions (0: do not probe)' },
    'quiet-wait': { type: 'string', default: '20', describe: 'seconds to wait at most, before each measurement, for an idle machine (0: do not wait)' },
  },
  async run(v: OptionValues, ctx: BenchContext): Promise<BenchResult> {
    const opts: RenderBenchOptions = {
      sizes: sizesOf(String(v.sizes)),
      runs: positive('runs', v.runs),
      runsLarge: positive('runs-large', v['runs-large']),
      largeFrom: 3000,
      dir: resolve(typeof v.dir === 'string' ? v.dir : tmpdir()),
      repos: (typeof v.repo === 'string' ? v.repo.split(',').filter(Boolean) : [REPO]).map((r) => resolve(r)),
      build: !v['no-build'],
      keep: Boolean(v.keep),
      deleteBetweenRuns: Boolean(v['delete-between-runs']),
      settleS: positive('settle', v.settle, true),
      quietWaitS: positive('quiet-wait', v['quiet-wait'], true),
      minFreeForLargeBytes: 3 * 2 ** 30,
    };
    const result = await runRenderBenchmark(opts, ctx);
    const { table, targetsMet } = renderTable(result);
    return { tables: [table], raw: { options: opts, ...result }, targetsMet };
  },
};
