/**
 * The kubectl benchmark: routegen reading `kubectl get nodes -o json` (issue 17).
 *
 * 1. `routegen plan -i nodes.json --hosts node-1` on 5,000 and 10,000 realistic nodes
 *    (lib/nodes.ts: labels, annotations, managedFields, conditions, 25 images a node) against
 *    the platform's own parser on the same file, `node -e 'JSON.parse(fs.readFileSync(F))'`.
 *    Targets at 5,000 nodes: at most 1.5x its wall time and 1.5x its peak RSS. Linearity: routegen's
 *    time per node (its startup taken off) at 10,000 at most 1.25x that at 5,000.
 * 2. `routegen render -i nodes.json` against `routegen render -i machines.txt` of the same cluster
 *    (5,000 nodes, 25 M routes, 1.3 GB): at most 1.2x its wall time.
 *
 * Every figure is a median over runs under `/usr/bin/time -v` (lib/measure.ts); the two programs
 * of a comparison alternate run by run and who goes first, each after waiting for a quiet machine.
 * Before timing, each comparison checks that both sides do the same work: plan prints the same
 * routes from nodes.json as from machines.txt, render writes the same files (diff -r).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { wholeOption, type BenchContext, type BenchResult, type Benchmark, type OptionValues } from './lib/benchmark.js';
import { formatBytes, fsType } from './lib/machine.js';
import { median, medianCpu, medianWall, requireGnuTime, timeV, type Measurement } from './lib/measure.js';
import { BIN, childEnv, cluster, RENDER_ARGS, verifyPlan, verifyRender } from './lib/nodesCheck.js';
import { waitForQuiet } from './lib/quiet.js';
import { describeCheckout, ensureBuilt, REPO } from './lib/routegen.js';
import { num, type ResultTable, type Row } from './lib/table.js';

const TARGET_PLAN_TIME = 1.5;
const TARGET_PLAN_RSS = 1.5;
const TARGET_RENDER_TIME = 1.2;
/** Linear: µs/node without startup at the largest size, over that at the smallest. */
const TARGET_LINEAR = 1.25;
const STARTUP_NODES = 2;
const PARSE_ONLY = 'JSON.parse(fs.readFileSync(process.argv[1]))';

interface Options {
  sizes: number[];
  runs: number;
  renderNodes: number;
  renderRuns: number;
  dir: string;
  out: string;
  build: boolean;
  keep: boolean;
  quietWaitS: number;
}

/** One comparison at one size: program a (routegen on nodes.json) against b (the yardstick). */
interface Pair {
  nodes: number;
  inputBytes: number;
  a: Measurement[];
  b: Measurement[];
  busy: number[];
}

/** Runs a and b in turn, `runs` times each, alternating who goes first. */
async function interleave(p: Pair, runs: number, quietWaitS: number, a: () => Measurement, b: () => Measurement, log: (s: string) => void, what: [string, string]): Promise<Pair> {
  for (let k = 0; k < runs; k++) {
    const order: Array<[0 | 1, () => Measurement]> = k % 2 === 0 ? [[0, a], [1, b]] : [[1, b], [0, a]];
    for (const [i, run] of order) {
      p.busy.push(await waitForQuiet(quietWaitS));
      const m = run();
      (i === 0 ? p.a : p.b).push(m);
      log(`  ${String(p.nodes).padStart(6)} nodes  run ${k + 1}/${runs}  ${what[i]!.padEnd(22)} ${m.wallHrS.toFixed(3)} s  ${(m.maxRssKb / 1024).toFixed(0)} MiB peak`);
    }
  }
  return p;
}

async function measureAll(o: Options, log: (s: string) => void): Promise<{ plan: Pair[]; startup: Pair; render: Pair | null; notes: string[] }> {
  requireGnuTime();
  if (o.build) ensureBuilt(REPO, log);
  const notes = [`routegen: ${describeCheckout(REPO)}`];
  mkdirSync(o.dir, { recursive: true });
  const work = mkdtempSync(join(o.dir, 'routegen-bench-kubectl-'));
  const env = childEnv();
  /** A render output being written: on tmpfs it holds memory until deleted. */
  let rendering: string | null = null;
  const cleanup = () => {
    if (rendering) rmSync(rendering, { recursive: true, force: true });
    if (!o.keep) rmSync(work, { recursive: true, force: true });
  };
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const planOf = async (n: number, runs: number): Promise<Pair> => {
      const { dir, bytes } = cluster(work, n);
      log(`${num(n)} nodes: nodes.json ${formatBytes(bytes)}`);
      if (n > STARTUP_NODES) verifyPlan(dir, n, log); // also warms the page cache for both
      const routegen = () => timeV([process.execPath, BIN, 'plan', '-i', 'nodes.json', '--hosts', 'node-1'], { cwd: dir, env });
      const parse = () => timeV([process.execPath, '-e', PARSE_ONLY, 'nodes.json'], { cwd: dir, env });
      return interleave({ nodes: n, inputBytes: bytes, a: [], b: [], busy: [] }, runs, o.quietWaitS, routegen, parse, log, ['routegen plan', 'JSON.parse']);
    };
    const startup = await planOf(STARTUP_NODES, o.runs);
    const plan: Pair[] = [];
    for (const n of o.sizes) plan.push(await planOf(n, o.runs));

    let render: Pair | null = null;
    if (o.renderNodes > 0) {
      verifyRender(work, log);
      const dir = existsSync(join(work, String(o.renderNodes))) ? join(work, String(o.renderNodes)) : cluster(work, o.renderNodes).dir;
      const fs = fsType(o.out);
      notes.push(`render writes to ${o.out} (${fs.type}); each output is deleted after its run`);
      const rendered = (file: string) => () => {
        const out = mkdtempSync(join(o.out, 'routegen-bench-kubectl-out-'));
        rendering = out;
        try {
          const m = timeV([process.execPath, BIN, 'render', '-i', file, ...RENDER_ARGS, '--out', out], { cwd: dir, env });
          const hosts = readdirSync(out).length;
          if (hosts !== o.renderNodes) throw new Error(`render -i ${file} wrote ${hosts} hosts, expected ${o.renderNodes}`);
          return m;
        } finally {
          rmSync(out, { recursive: true, force: true });
          rendering = null;
        }
      };
      render = await interleave({ nodes: o.renderNodes, inputBytes: 0, a: [], b: [], busy: [] }, o.renderRuns, o.quietWaitS, rendered('nodes.json'), rendered('machines.txt'), log, ['render nodes.json', 'render machines.txt']);
    }
    return { plan, startup, render, notes };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    cleanup();
  }
}

// ---- the tables ----------------------------------------------------------------------------

const wall = medianWall;
const rssMiB = (ms: Measurement[]) => median(ms.map((m) => m.maxRssKb)) / 1024;
const cpu = medianCpu;
const x = (r: number) => `${r.toFixed(2)}x`;
const verdict = (ok: boolean) => (ok ? 'MET' : 'NOT MET');

function tables(r: Awaited<ReturnType<typeof measureAll>>): { tables: ResultTable[]; met: boolean } {
  let met = true;
  const notes = [...r.notes];
  const start = { a: wall(r.startup.a), b: wall(r.startup.b) };
  const rows: Row[] = [r.startup, ...r.plan].map((p) => {
    const isStart = p === r.startup;
    const [a, b] = [wall(p.a), wall(p.b)];
    return {
      nodes: isStart ? `${p.nodes} (startup)` : num(p.nodes),
      mb: num(p.inputBytes / 1e6, 0),
      runs: String(p.a.length),
      rg: a.toFixed(3),
      parse: b.toFixed(3),
      ratio: x(a / b),
      cpuRatio: x(cpu(p.a) / cpu(p.b)),
      rgRss: num(rssMiB(p.a)),
      parseRss: num(rssMiB(p.b)),
      rssRatio: x(rssMiB(p.a) / rssMiB(p.b)),
      rgUs: isStart ? '' : num(((a - start.a) * 1e6) / p.nodes, 0),
      parseUs: isStart ? '' : num(((b - start.b) * 1e6) / p.nodes, 0),
    };
  });
  const at5000 = r.plan.find((p) => p.nodes === 5000);
  if (at5000) {
    const t = wall(at5000.a) / wall(at5000.b);
    const m = rssMiB(at5000.a) / rssMiB(at5000.b);
    met &&= t <= TARGET_PLAN_TIME && m <= TARGET_PLAN_RSS;
    notes.push(`${verdict(t <= TARGET_PLAN_TIME)}: plan of 5,000 nodes in ${x(t)} JSON.parse's wall time (target ≤ ${TARGET_PLAN_TIME}x)`);
    notes.push(`${verdict(m <= TARGET_PLAN_RSS)}: plan of 5,000 nodes at ${x(m)} JSON.parse's peak RSS (target ≤ ${TARGET_PLAN_RSS}x)`);
  } else notes.push('not evaluated: the 5,000-node targets (size not measured)');
  if (r.plan.length >= 2) {
    const perNode = (p: Pair, which: 'a' | 'b') => (wall(p[which]) - start[which]) / p.nodes;
    const [lo, hi] = [r.plan[0]!, r.plan[r.plan.length - 1]!];
    const growth = perNode(hi, 'a') / perNode(lo, 'a');
    met &&= growth <= TARGET_LINEAR;
    notes.push(
      `${verdict(growth <= TARGET_LINEAR)}: linear in nodes: routegen's time per node without startup, ${num(hi.nodes)} over ${num(lo.nodes)} nodes: ${x(growth)} (target ≤ ${TARGET_LINEAR}x; JSON.parse's: ${x(perNode(hi, 'b') / perNode(lo, 'b'))})`,
    );
  }
  notes.push(
    `yardstick: \`node -e '${PARSE_ONLY}' nodes.json\`; wall: median of the monotonic clock around \`/usr/bin/time -v\`; peak RSS: median of GNU time's maximum resident set size; CPU: median user+sys; µs/node: (median − the ${STARTUP_NODES}-node startup) / nodes`,
  );
  const busy = [r.startup, ...r.plan, ...(r.render ? [r.render] : [])].flatMap((p) => p.busy);
  notes.push(`machine load just before each measurement (others' work, busy cores): median ${median(busy).toFixed(2)}, max ${Math.max(...busy).toFixed(2)}`);
  const planTable: ResultTable = {
    title: 'kubectl: routegen plan -i nodes.json --hosts node-1 vs JSON.parse of the same file',
    columns: [
      { key: 'nodes', title: 'nodes', numeric: true },
      { key: 'mb', title: 'MB', numeric: true },
      { key: 'runs', title: 'runs', numeric: true },
      { key: 'rg', title: 'routegen wall s', numeric: true },
      { key: 'parse', title: 'JSON.parse wall s', numeric: true },
      { key: 'ratio', title: 'time ratio', numeric: true },
      { key: 'cpuRatio', title: 'CPU ratio', numeric: true },
      { key: 'rgRss', title: 'routegen peak MiB', numeric: true },
      { key: 'parseRss', title: 'JSON.parse peak MiB', numeric: true },
      { key: 'rssRatio', title: 'RSS ratio', numeric: true },
      { key: 'rgUs', title: 'routegen µs/node', numeric: true },
      { key: 'parseUs', title: 'JSON.parse µs/node', numeric: true },
    ],
    rows,
    notes,
  };
  const out = [planTable];
  if (r.render) {
    const [a, b] = [wall(r.render.a), wall(r.render.b)];
    met &&= a / b <= TARGET_RENDER_TIME;
    out.push({
      title: 'kubectl: routegen render -i nodes.json vs render -i machines.txt of the same cluster (networkd)',
      columns: [
        { key: 'nodes', title: 'nodes', numeric: true },
        { key: 'runs', title: 'runs', numeric: true },
        { key: 'json', title: 'nodes.json wall s', numeric: true },
        { key: 'txt', title: 'machines.txt wall s', numeric: true },
        { key: 'ratio', title: 'time ratio', numeric: true },
        { key: 'cpuRatio', title: 'CPU ratio', numeric: true },
        { key: 'jsonRss', title: 'nodes.json peak MiB', numeric: true },
        { key: 'txtRss', title: 'machines.txt peak MiB', numeric: true },
      ],
      rows: [{ nodes: num(r.render.nodes), runs: String(r.render.a.length), json: a.toFixed(3), txt: b.toFixed(3), ratio: x(a / b), cpuRatio: x(cpu(r.render.a) / cpu(r.render.b)), jsonRss: num(rssMiB(r.render.a)), txtRss: num(rssMiB(r.render.b)) }],
      notes: [
        `${verdict(a / b <= TARGET_RENDER_TIME)}: render of ${num(r.render.nodes)} nodes from nodes.json in ${x(a / b)} the time from machines.txt (target ≤ ${TARGET_RENDER_TIME}x)`,
        ...renderFloor(r, a - b),
      ],
    });
  }
  return { tables: out, met };
}

/** What reading nodes.json adds to render, next to what the platform's parser alone takes on
 * the same file (the yardstick's time less its startup): the floor of any reader built on it,
 * which routegen's fast reader (src/inventory/jsonSlices.ts) is not. */
function renderFloor(r: Awaited<ReturnType<typeof measureAll>>, extra: number): string[] {
  const same = r.plan.find((p) => p.nodes === r.render?.nodes);
  if (!same || !r.render) return [];
  const parse = wall(same.b) - wall(r.startup.b);
  const txt = wall(r.render.b);
  return [
    `reading nodes.json adds ${extra.toFixed(2)} s to render; JSON.parse alone takes ${parse.toFixed(2)} s on the same file (its startup taken off), ` +
      `so a reader built on JSON.parse would render in ${x((txt + parse) / txt)} the machines.txt time at best`,
  ];
}

// ---- the module run.ts loads ---------------------------------------------------------------

export const benchmark: Benchmark = {
  name: 'kubectl',
  description: 'routegen plan/render reading `kubectl get nodes -o json` (5,000 and 10,000 realistic nodes) vs JSON.parse and vs machines.txt',
  options: {
    'kubectl-nodes': { type: 'string', default: '5000,10000', describe: 'node counts for plan vs JSON.parse, comma-separated, ascending' },
    'kubectl-runs': { type: 'string', default: '5', describe: 'timed runs of each program per size' },
    'kubectl-render-nodes': { type: 'string', default: '5000', describe: 'nodes for render nodes.json vs machines.txt (n² routes; 0: skip)' },
    'kubectl-render-runs': { type: 'string', default: '5', describe: 'timed runs of each render' },
    'kubectl-dir': { type: 'string', describe: 'where the inventories go [default: the OS temp dir]' },
    'kubectl-out': { type: 'string', describe: 'where render writes (1.3 GB a run at 5,000 nodes) [default: /dev/shm when present, else --kubectl-dir]' },
    'kubectl-quiet-wait': { type: 'string', default: '20', describe: 'seconds to wait at most, before each measurement, for an idle machine (0: do not wait)' },
    'no-build': { type: 'boolean', describe: 'do not run npm run build when dist/ is stale' },
    keep: { type: 'boolean', describe: 'keep the work directory (inventories)' },
  },
  async run(v: OptionValues, ctx: BenchContext): Promise<BenchResult> {
    const sizes = String(v['kubectl-nodes']).split(',').map((s) => wholeOption('kubectl-nodes', s.trim(), { least: STARTUP_NODES + 1 }));
    if (sizes.some((n, i) => i > 0 && n <= sizes[i - 1]!)) throw new Error('--kubectl-nodes must be ascending');
    const dir = resolve(typeof v['kubectl-dir'] === 'string' ? v['kubectl-dir'] : tmpdir());
    const opts: Options = {
      sizes,
      runs: wholeOption('kubectl-runs', v['kubectl-runs'], { least: 1 }),
      renderNodes: wholeOption('kubectl-render-nodes', v['kubectl-render-nodes'], { least: 0 }),
      renderRuns: wholeOption('kubectl-render-runs', v['kubectl-render-runs'], { least: 1 }),
      dir,
      out: resolve(typeof v['kubectl-out'] === 'string' ? v['kubectl-out'] : existsSync('/dev/shm') ? '/dev/shm' : dir),
      build: !v['no-build'],
      keep: Boolean(v.keep),
      quietWaitS: wholeOption('kubectl-quiet-wait', v['kubectl-quiet-wait'], { least: 0 }),
    };
    const result = await measureAll(opts, ctx.log);
    const { tables: out, met } = tables(result);
    return { tables: out, raw: { options: opts, ...result }, targetsMet: met };
  },
};
