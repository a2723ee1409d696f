/**
 * The push benchmark: `routegen push --stack networkd --interface eth1 --parallel 10` to 51
 * systemd-networkd hosts of the namespace lab (server + node-0..49, each with its own real sshd
 * and systemd-networkd; test/lab/lab.ts), run from the lab's jumpbox with the lab's ssh config,
 * against the leanest OpenSSH loop doing the same job (bench/reference/push-ssh-loop.sh: one
 * `ssh HOST 'mkdir -p D && cat > D/F && networkctl reload' < F` per host through xargs -P 10,
 * multiplexing off, BatchMode on) and, when Debian's `ansible` is installed, the same job as a
 * playbook (bench/reference/push-ansible.yml, forks 10).
 *
 *   node --import tsx bench/push.ts [--runs 3] [--workers 50] [--parallel 10]
 *        [--tools routegen,ssh-loop,ansible] [--repo DIR[,DIR...]] [--bastion] [--quiet-wait S]
 *        [--keep] [--no-build] [--json FILE]
 *
 * Every measurement gets a FRESHLY started lab (nothing pushed yet, so every host changes), and
 * after each one every planned route must be in every host's kernel (`ip -j route` in the
 * host's namespace), else the benchmark fails. routegen does more than the references: it backs
 * up, arms a rollback timer on the host, verifies the kernel itself and confirms from a second
 * connection. The references only write and reload; their routes may reach the kernel a little
 * after they exit (networkd reloads asynchronously before systemd 256): the "kernel +" column
 * says how long after.
 *
 * Figures: wall time and CPU time (user + sys, the program and the children it waited for) under
 * `/usr/bin/time -v`, peak RSS (the largest single process: GNU time's "Maximum resident set
 * size"), and the whole machine's busy CPU during the run (/proc/stat: client, the hosts' sshd
 * and networkd, all on the same 2 cores). Medians over the runs, tools interleaved run by run.
 *
 * `--bastion`: the lab gets a bastion (test/lab/bastion.ts) and the jumpbox loses its own link
 * into the node network: routegen runs with `-J root@BASTION` (one bastion login, a channel per
 * connection), the ssh loop with `ssh -J root@BASTION` per host (a bastion login per host). The
 * target is then ≤ 0.8x the loop. The bastion's sshd runs outside the hosts: "hosts CPU" leaves
 * it out, the machine CPU does not.
 *
 * Exported: `pushBench(opts)` (rows and the table) and `benchmark` (the bench/run.ts interface;
 * its options are prefixed `push-` so they do not clash with other benchmarks').
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { addBastion } from '../test/lab/bastion.js';
import { Lab, labUnavailable } from '../test/lab/lab.js';
import { wholeOption, type BenchContext, type BenchResult, type Benchmark, type OptionValues } from './lib/benchmark.js';
import { describeMachine, machineInfo, programVersion, type MachineInfo } from './lib/machine.js';
import { cpuSecondsIn } from './lib/nsCpu.js';
import { max, median, min, parseTimeV, requireGnuTime, GNU_TIME, type Measurement } from './lib/measure.js';
import { describeCheckout, ensureBuilt, REPO } from './lib/routegen.js';
import { formatTable, num, type ResultTable, type Row } from './lib/table.js';

export const SSH_LOOP = fileURLToPath(new URL('./reference/push-ssh-loop.sh', import.meta.url));
export const PLAYBOOK = fileURLToPath(new URL('./reference/push-ansible.yml', import.meta.url));
const ANSIBLE_PLAYBOOK = '/usr/bin/ansible-playbook';
/** The target: routegen's median wall time at most this many times the ssh loop's (issue 17). */
const TARGET_RATIO = 1.0;
/** From this many hosts on, the target is TARGET_RATIO_MANY (issue 17: 150 hosts, ≤ 0.8x). */
const MANY_HOSTS = 150;
const TARGET_RATIO_MANY = 0.8;
/** With --bastion: routegen logs in to the bastion once, the loop once per host. */
const TARGET_RATIO_BASTION = 0.8;
/** How long after a reference exits its routes may take to reach every kernel. */
const KERNEL_SETTLE_LIMIT_MS = 15_000;
/** Per measured command. */
const COMMAND_TIMEOUT_MS = 300_000;

export type Tool = 'routegen' | 'ssh-loop' | 'ansible';
export const TOOLS: Tool[] = ['routegen', 'ssh-loop', 'ansible'];

export interface PushBenchOptions {
  /** Measurements per tool (each on a fresh lab). Default 3. */
  runs?: number;
  /** Lab workers (hosts = workers + 1 server). Default 50. */
  workers?: number;
  /** --parallel / xargs -P / ansible forks. Default 10. */
  parallel?: number;
  tools?: Tool[];
  /** routegen checkouts to measure, interleaved (e.g. this one and a scratch copy with a fix).
   * Default: this repository. */
  repos?: string[];
  /** npm run build where dist/ is stale. Default true. */
  build?: boolean;
  /** Reach the hosts only through a bastion (-J for routegen, ssh -J for the loop). */
  bastion?: boolean;
  /** Where the work directory goes. Default the OS temp dir. */
  dir?: string;
  /** Keep the work directory. */
  keep?: boolean;
  /** Before each measurement, wait at most this long for a quiet machine. Default 10. */
  quietWaitS?: number;
  log?: (s: string) => void;
}

type Opts = Required<Omit<PushBenchOptions, 'log' | 'dir' | 'keep'>>;

/** One measurement of one tool on one fresh lab. */
export interface PushRun {
  tool: string;
  run: number;
  m: Measurement;
  /** Busy CPU seconds of the whole machine during the command (all cores, /proc/stat). */
  machineCpuS: number;
  /** Of it, interrupt and softirq time (the lab's network, packet by packet): no process's. */
  machineIrqS?: number;
  /** CPU seconds used inside the lab's hosts during the command (the server side). */
  hostsCpuS: number;
  /** ms after the command exited until every planned route was in every kernel (0: at once). */
  kernelAfterMs: number;
  /** routegen's own summary line, when it is routegen. */
  summary?: string;
  /** Time of `routegen render` into the render dir the references read (not in `m`). */
  render?: Measurement;
  /** Lab bring-up, for the record. */
  labUpMs: number;
  /** Busy cores of the machine in the second before the command started (others' work). */
  busyBefore: number;
}

export interface PushBenchResult {
  machine: MachineInfo;
  options: Opts;
  versions: Record<string, string>;
  runs: PushRun[];
  rows: Row[];
  table: ResultTable;
  targetsMet: boolean;
  notes: string[];
  seconds: number;
}

// ---- the lab's truth ---------------------------------------------------------------------------

/** Every host's planned routes as "DST via GW dev eth1": every other worker's subnet via it. */
function plannedRoutes(lab: Lab): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const h of lab.hosts) {
    out.set(h.name, lab.hosts.filter((w) => w.podSubnet && w.name !== h.name).map((w) => `${w.podSubnet} via ${w.ip} dev eth1`).sort());
  }
  return out;
}

async function missingRoutes(lab: Lab, host: string, want: string[]): Promise<string[]> {
  const have = new Set((await lab.routes(host)).filter((r) => r.gateway).map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`));
  return want.filter((w) => !have.has(w));
}

/**
 * Polls every host's kernel until the plan is there. Returns 0 when the first look (all hosts at
 * once, right after the program exited) finds everything, else the ms until the last host had
 * it. Throws (loudly) when some host still lacks routes after KERNEL_SETTLE_LIMIT_MS.
 */
async function waitForRoutes(lab: Lab, tool: string): Promise<number> {
  const t0 = Date.now();
  const plan = plannedRoutes(lab);
  let pending = [...plan.keys()];
  let lastMissing = new Map<string, string[]>();
  for (let round = 0, delay = 20; ; round++, delay = Math.min(delay * 2, 500)) {
    const checked = await Promise.all(pending.map(async (host) => [host, await missingRoutes(lab, host, plan.get(host)!)] as const));
    lastMissing = new Map(checked.filter(([, miss]) => miss.length > 0));
    pending = [...lastMissing.keys()];
    if (pending.length === 0) return round === 0 ? 0 : Date.now() - t0;
    if (Date.now() - t0 > KERNEL_SETTLE_LIMIT_MS) break;
    await new Promise((r) => setTimeout(r, delay));
  }
  const detail = [...lastMissing].slice(0, 5).map(([h, m]) => `  ${h}: ${m.length} missing, e.g. ${m[0]}`).join('\n');
  throw new Error(
    `${tool}: ${pending.length} of ${plan.size} hosts still lack planned routes ${KERNEL_SETTLE_LIMIT_MS / 1000} s after it finished:\n${detail}`,
  );
}

// ---- measuring ---------------------------------------------------------------------------------

/** Busy and total jiffies of the whole machine. */
function cpuJiffies(): { busy: number; total: number; irq: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal (guest is inside user)
  return { busy: total - idle, total, irq: (f[5] ?? 0) + (f[6] ?? 0) }; // irq + softirq: no process's
}
const HZ = 100; // USER_HZ on Linux

/** CPU seconds used so far inside the lab's hosts (lib/nsCpu.ts). */
const hostsCpuS = (lab: Lab): number => cpuSecondsIn(lab.hosts.map((h) => h.pid));

/** Busy fraction of the whole machine (in cores) over the next `ms`. */
async function busyCores(ms: number): Promise<number> {
  const a = cpuJiffies();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuJiffies();
  return (b.busy - a.busy) / HZ / (ms / 1000);
}

/**
 * Waits until the machine is quiet: a 1 s window in which everything else (the freshly booted
 * lab included) keeps less than QUIET_CORES busy. On a shared machine others' work would be
 * counted against whichever tool runs beside it. Gives up after `maxWaitS`. Returns the last
 * window's busy cores.
 */
async function waitForQuiet(maxWaitS: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const busy = await busyCores(1000);
    if (busy < QUIET_CORES || Date.now() - t0 >= maxWaitS * 1000) return busy;
  }
}
const QUIET_CORES = 0.25;

/** The child's environment: no colour, and nothing of this process's own loader (tsx). */
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, NODE_OPTIONS: '', NO_COLOR: '1', ...extra };
}

/** Runs argv in the jumpbox under GNU time; fails with the output when it fails. */
async function timedInJumpbox(lab: Lab, argv: string[], timeFile: string, env: Record<string, string>, what: string): Promise<{ m: Measurement; stdout: string; machineCpuS: number; machineIrqS: number; hostsCpuS: number }> {
  rmSync(timeFile, { force: true });
  const h0 = hostsCpuS(lab);
  const c0 = cpuJiffies();
  const t0 = process.hrtime.bigint();
  // lab.jumpbox merges process.env under env; pass the cleaned one in full.
  const r = await lab.jumpbox([GNU_TIME, '-v', '-o', timeFile, ...argv], { env, timeoutMs: COMMAND_TIMEOUT_MS });
  const wallHrS = Number(process.hrtime.bigint() - t0) / 1e9;
  const c1 = cpuJiffies();
  const h1 = hostsCpuS(lab);
  if (r.code !== 0) {
    throw new Error(`${what} exited with ${r.code}\n--- command\n${argv.join(' ')}\n--- stdout (tail)\n${r.stdout.split('\n').slice(-30).join('\n')}\n--- stderr (tail)\n${r.stderr.split('\n').slice(-30).join('\n')}`);
  }
  return { m: { ...parseTimeV(readFileSync(timeFile, 'utf8')), wallHrS }, stdout: r.stdout, machineCpuS: (c1.busy - c0.busy) / HZ, machineIrqS: (c1.irq - c0.irq) / HZ, hostsCpuS: h1 - h0 };
}

/** `routegen render` of the lab's inventory into `out` (the references' input), timed. */
function render(repo: string, inventory: string, out: string): Measurement {
  rmSync(out, { recursive: true, force: true });
  const file = `${out}.time`;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(GNU_TIME, ['-v', '-o', file, process.execPath, join(repo, 'bin/routegen.js'), 'render', '-i', inventory, '--stack', 'networkd', '--interface', 'eth1', '--out', out, '-q'], {
    env: childEnv(),
    encoding: 'utf8',
  });
  const wallHrS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`routegen render failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const m = { ...parseTimeV(readFileSync(file, 'utf8')), wallHrS };
  rmSync(file, { force: true });
  return m;
}

function ansibleInventory(lab: Lab, file: string, sshConfig: string): void {
  const lines = ['[all]', ...lab.hosts.map((h) => `${h.ip} rg_name=${h.name}`), '', '[all:vars]', 'ansible_user=root', `ansible_ssh_common_args=-F ${sshConfig}`, 'ansible_python_interpreter=/usr/bin/python3', ''];
  writeFileSync(file, lines.join('\n'));
}

/** Ansible's ControlPersist masters (its default ssh_args) would outlive the run: end them. */
async function endControlMasters(lab: Lab, dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const socks = spawnSync('find', [dir, '-type', 's'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  await Promise.all(socks.map((s) => lab.jumpbox(['ssh', '-o', `ControlPath=${s}`, '-O', 'exit', 'x'], { timeoutMs: 10_000 }).catch(() => undefined)));
  rmSync(dir, { recursive: true, force: true });
}

/** The lab's ssh config with ConnectTimeout 60, for the bastion runs. */
function bastionBenchConfig(lab: Lab): string {
  const file = join(lab.dir, 'ssh_config_bench');
  writeFileSync(file, readFileSync(lab.sshConfigFile, 'utf8').replace(/ConnectTimeout \d+/, 'ConnectTimeout 60'));
  return file;
}

interface Subject {
  label: string;
  tool: Tool;
  repo?: string;
}

async function measureOnce(s: Subject, run: number, o: Opts, work: string, log: (s: string) => void): Promise<PushRun> {
  const labT0 = Date.now();
  const lab = await Lab.up({ workers: o.workers, stack: 'networkd' });
  const labUpMs = Date.now() - labT0;
  const jump = o.bastion ? `root@${(await addBastion(lab)).ip}` : undefined;
  try {
    const inventory = join(lab.dir, 'machines.txt');
    // Through a bastion the loop's every ssh waits for the target's banner while its ssh -W logs
    // in to the bastion: a generous ConnectTimeout (60 s, not the lab's 5), or a busy machine
    // fails it.
    const cfg = jump ? bastionBenchConfig(lab) : lab.sshConfigFile;
    const timeFile = join(work, 'time.txt');
    // The references' input, made before the quiet wait (and not timed with them).
    const out = join(work, `render-${run}-${s.tool}`);
    const rendered = s.tool === 'routegen' ? undefined : render(o.repos[0]!, inventory, out);
    // Let the freshly booted hosts (and, on a shared machine, everyone else) go quiet.
    const busyBefore = await waitForQuiet(o.quietWaitS);
    let result: PushRun;
    if (s.tool === 'routegen') {
      const env = childEnv();
      const argv = ['node', join(s.repo!, 'bin/routegen.js'), 'push', '-i', inventory, '-F', cfg, '--stack', 'networkd', '--interface', 'eth1', '--parallel', String(o.parallel), ...(jump ? ['-J', jump] : [])];
      const r = await timedInJumpbox(lab, argv, timeFile, env, `${s.label} push`);
      const summary = r.stdout.trim().split('\n').at(-1) ?? '';
      if (!new RegExp(`^${lab.hosts.length} hosts: ${lab.hosts.length} changed in`).test(summary)) throw new Error(`${s.label}: expected every host changed, got: ${summary}\n${r.stdout}`);
      result = { tool: s.label, run, m: r.m, machineCpuS: r.machineCpuS, machineIrqS: r.machineIrqS, hostsCpuS: r.hostsCpuS, kernelAfterMs: 0, summary, labUpMs, busyBefore };
    } else {
      if (s.tool === 'ssh-loop') {
        const r = await timedInJumpbox(lab, ['sh', SSH_LOOP, cfg, inventory, out, String(o.parallel)], timeFile, childEnv(jump ? { SSH_JUMP: jump } : {}), 'ssh loop');
        result = { tool: s.label, run, m: r.m, machineCpuS: r.machineCpuS, machineIrqS: r.machineIrqS, hostsCpuS: r.hostsCpuS, kernelAfterMs: 0, render: rendered!, labUpMs, busyBefore };
      } else {
        const inv = join(work, 'ansible-inventory.ini');
        ansibleInventory(lab, inv, cfg);
        const cp = join(work, 'cp'); // short: ControlPath is a unix socket (108 bytes at most)
        const env = childEnv({ ANSIBLE_NOCOLOR: '1', ANSIBLE_SSH_CONTROL_PATH_DIR: cp, ANSIBLE_LOCAL_TEMP: join(work, 'ansible-tmp'), ANSIBLE_RETRY_FILES_ENABLED: 'false' });
        try {
          const r = await timedInJumpbox(lab, ['ansible-playbook', '-i', inv, '-f', String(o.parallel), '-e', `render_dir=${out}`, PLAYBOOK], timeFile, env, 'ansible-playbook');
          result = { tool: s.label, run, m: r.m, machineCpuS: r.machineCpuS, machineIrqS: r.machineIrqS, hostsCpuS: r.hostsCpuS, kernelAfterMs: 0, render: rendered!, labUpMs, busyBefore };
        } finally {
          await endControlMasters(lab, cp);
        }
      }
      rmSync(out, { recursive: true, force: true });
    }
    result.kernelAfterMs = await waitForRoutes(lab, s.label);
    log(`  run ${run + 1} ${s.label.padEnd(16)} ${result.m.wallS.toFixed(2)} s wall, ${(result.m.userS + result.m.sysS).toFixed(2)} s CPU, ${(result.m.maxRssKb / 1024).toFixed(0)} MiB peak, hosts CPU ${result.hostsCpuS.toFixed(2)} s, machine CPU ${result.machineCpuS.toFixed(1)} s (irq+softirq ${(result.machineIrqS ?? 0).toFixed(1)} s), routes in every kernel +${result.kernelAfterMs} ms (lab up ${(labUpMs / 1000).toFixed(1)} s; machine busy ${result.busyBefore.toFixed(2)} cores just before)`);
    return result;
  } finally {
    await lab.down();
  }
}

// ---- the table ---------------------------------------------------------------------------------

const fmtS = (x: number) => num(x, 2);

function subjectsOf(o: Opts): Subject[] {
  const subjects: Subject[] = [];
  if (o.tools.includes('routegen')) {
    // This checkout is "routegen"; another (a scratch copy with a change) is routegen@its-dir.
    for (const repo of o.repos) subjects.push({ label: repo === resolve(REPO) ? 'routegen' : `routegen@${basename(repo)}`, tool: 'routegen', repo });
  }
  if (o.tools.includes('ssh-loop')) subjects.push({ label: 'ssh loop', tool: 'ssh-loop' });
  if (o.tools.includes('ansible')) subjects.push({ label: 'ansible', tool: 'ansible' });
  return subjects;
}

function buildTable(subjects: Subject[], runs: PushRun[], o: Opts, hosts: number): { table: ResultTable; rows: Row[]; targetsMet: boolean; notes: string[] } {
  const of = (label: string) => runs.filter((r) => r.tool === label);
  const wall = (label: string) => median(of(label).map((r) => r.m.wallS));
  const loopWall = o.tools.includes('ssh-loop') ? wall('ssh loop') : NaN;
  const both = (label: string) => median(of(label).map((r) => r.m.userS + r.m.sysS + r.hostsCpuS));
  const loopBoth = o.tools.includes('ssh-loop') ? both('ssh loop') : NaN;
  const rows: Row[] = [];
  for (const s of subjects) {
    const rs = of(s.label);
    if (rs.length === 0) continue;
    const walls = rs.map((r) => r.m.wallS);
    const w = median(walls);
    rows.push({
      tool: s.label,
      runs: String(rs.length),
      wall: fmtS(w),
      range: `${fmtS(min(walls))}–${fmtS(max(walls))}`,
      ratio: Number.isFinite(loopWall) ? `${num(w / loopWall, 2)}x` : '–',
      perHost: num((w * 1000) / hosts, 0),
      cpu: fmtS(median(rs.map((r) => r.m.userS + r.m.sysS))),
      hostsCpu: fmtS(median(rs.map((r) => r.hostsCpuS))),
      totalCpu: fmtS(both(s.label)),
      cpuRatio: Number.isFinite(loopBoth) ? `${num(both(s.label) / loopBoth, 2)}x` : '–',
      rss: num(median(rs.map((r) => r.m.maxRssKb / 1024)), 0),
      kernel: `+${num(median(rs.map((r) => r.kernelAfterMs)), 0)}`,
    });
  }
  const renders = runs.flatMap((r) => (r.render ? [r.render] : []));
  if (renders.length) {
    rows.push({
      tool: 'routegen render (the references\' input; not in their times)',
      runs: String(renders.length),
      wall: fmtS(median(renders.map((m) => m.wallS))),
      range: `${fmtS(min(renders.map((m) => m.wallS)))}–${fmtS(max(renders.map((m) => m.wallS)))}`,
      ratio: '',
      perHost: '',
      cpu: fmtS(median(renders.map((m) => m.userS + m.sysS))),
      hostsCpu: '',
      totalCpu: '',
      cpuRatio: '',
      rss: num(median(renders.map((m) => m.maxRssKb / 1024)), 0),
      kernel: '',
    });
  }
  const notes: string[] = [];
  let targetsMet = true;
  const busy = runs.filter((r) => r.busyBefore >= QUIET_CORES);
  if (busy.length) {
    notes.push(`${busy.length} of ${runs.length} measurements started on a busy machine (others kept ${busy.map((r) => r.busyBefore.toFixed(2)).join(', ')} cores busy just before): expect noise`);
  }
  if (Number.isFinite(loopWall)) {
    for (const s of subjects.filter((x) => x.tool === 'routegen')) {
      if (of(s.label).length === 0) continue;
      const ratio = wall(s.label) / loopWall;
      const target = o.bastion ? TARGET_RATIO_BASTION : o.workers + 1 >= MANY_HOSTS ? TARGET_RATIO_MANY : TARGET_RATIO;
      const ok = ratio <= target;
      if (s.repo === o.repos[0]) targetsMet = ok;
      notes.push(`${s.label}: ${num(ratio, 2)}x the ssh loop's median wall time — target ≤ ${num(target, 1)}x ${ok ? 'MET' : 'MISSED'} (CPU, client + hosts: ${num(both(s.label) / loopBoth, 2)}x — steadier than wall time when others share the machine)`);
    }
    const render = renders.length ? median(renders.map((m) => m.wallS)) : 0;
    if (render) notes.push(`the ssh loop with its render step: ${fmtS(loopWall + render)} s (routegen renders inside push)`);
  }
  notes.push(
    'wall and client CPU from /usr/bin/time -v (user + sys of the program and the children it waited for: node and its `ssh -G`s; sh, xargs and the ssh clients; ansible-playbook and its forks)',
    `hosts CPU = CPU used inside the ${o.workers + 1} hosts' PID namespaces during the run (sshd and its sessions, remote shells and commands, networkd): the server side, on the same cores as the client; both = client + hosts (a median of sums)`,
    'peak RSS = the largest single process (GNU time), not the sum',
    '"kernel +": ms after the program exited until every planned route was in every host\'s kernel (routegen waits for that itself)',
    `each measurement on a freshly started lab of ${hosts} networkd hosts; parallelism ${o.parallel}; tools interleaved run by run`,
  );
  const table: ResultTable = {
    title: `push to ${hosts} systemd-networkd hosts (lab)${o.bastion ? ' through one bastion' : ''}, parallel ${o.parallel}, medians of ${o.runs} runs`,
    columns: [
      { key: 'tool', title: 'tool' },
      { key: 'runs', title: 'runs', numeric: true },
      { key: 'wall', title: 'wall s', numeric: true },
      { key: 'range', title: 'min–max s', numeric: true },
      { key: 'ratio', title: 'vs ssh loop', numeric: true },
      { key: 'perHost', title: 'ms/host', numeric: true },
      { key: 'cpu', title: 'client CPU s', numeric: true },
      { key: 'hostsCpu', title: 'hosts CPU s', numeric: true },
      { key: 'totalCpu', title: 'both', numeric: true },
      { key: 'cpuRatio', title: 'both vs loop', numeric: true },
      { key: 'rss', title: 'peak RSS MiB', numeric: true },
      { key: 'kernel', title: 'kernel + ms', numeric: true },
    ],
    rows,
    notes,
  };
  return { table, rows, targetsMet, notes };
}

// ---- the entry points --------------------------------------------------------------------------

export async function pushBench(opts: PushBenchOptions = {}): Promise<PushBenchResult> {
  const started = Date.now();
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const o: Opts = {
    runs: opts.runs ?? 3,
    workers: opts.workers ?? 50,
    parallel: opts.parallel ?? 10,
    tools: opts.tools ?? TOOLS,
    repos: (opts.repos ?? [REPO]).map((r) => resolve(r)),
    build: opts.build ?? true,
    bastion: opts.bastion ?? false,
    quietWaitS: opts.quietWaitS ?? 10,
  };
  const why = labUnavailable();
  if (why) throw new Error(`the push benchmark needs the namespace lab, which cannot run here: ${why}`);
  requireGnuTime();
  const notes: string[] = [];
  if (o.tools.includes('ansible') && !existsSync(ANSIBLE_PLAYBOOK)) {
    const msg = `ansible skipped: ${ANSIBLE_PLAYBOOK} is missing (apt-get install -y --no-install-recommends ansible)`;
    log(msg);
    notes.push(msg);
    o.tools = o.tools.filter((t) => t !== 'ansible');
  }
  for (const repo of o.repos) if (o.build) ensureBuilt(repo, log);
  const versions: Record<string, string> = {
    ssh: programVersion(['ssh', '-V']),
    ...Object.fromEntries(o.repos.map((r) => [`routegen ${r}`, describeCheckout(r)])),
  };
  if (o.tools.includes('ansible')) versions.ansible = programVersion([ANSIBLE_PLAYBOOK, '--version']);
  const machine = machineInfo();
  const work = mkdtempSync(join(opts.dir ?? tmpdir(), 'routegen-push-bench-'));
  const subjects = subjectsOf(o);
  const runs: PushRun[] = [];
  try {
    for (let run = 0; run < o.runs; run++) {
      // Rotate who goes first, so a drift in the machine's state affects every tool alike.
      const order = subjects.map((_, i) => subjects[(i + run) % subjects.length]!);
      for (const s of order) runs.push(await measureOnce(s, run, o, work, log));
    }
  } finally {
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
    else log(`work directory kept: ${work}`);
  }
  const hosts = o.workers + 1;
  const built = buildTable(subjects, runs, o, hosts);
  return {
    machine,
    options: o,
    versions,
    runs,
    rows: built.rows,
    table: built.table,
    targetsMet: built.targetsMet,
    notes: [...notes, ...built.notes],
    seconds: (Date.now() - started) / 1000,
  };
}

function toolsOf(v: string | boolean | undefined): Tool[] {
  if (typeof v !== 'string') return TOOLS;
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = list.filter((t) => !TOOLS.includes(t as Tool));
  if (bad.length) throw new Error(`--tools: unknown ${bad.join(', ')} (known: ${TOOLS.join(', ')})`);
  return list as Tool[];
}

function reposOf(v: string | boolean | undefined): string[] | undefined {
  return typeof v === 'string' ? v.split(',').map((s) => resolve(s.trim())).filter(Boolean) : undefined;
}

export const benchmark: Benchmark = {
  name: 'push',
  description: 'routegen push to 51 networkd hosts of the namespace lab vs an ssh loop (xargs -P) and an Ansible playbook',
  options: {
    'push-runs': { type: 'string', default: '3', describe: 'measurements per tool, each on a fresh lab' },
    'push-workers': { type: 'string', default: '50', describe: 'lab workers (plus one server)' },
    'push-parallel': { type: 'string', default: '10', describe: 'routegen --parallel, xargs -P, ansible forks' },
    'push-tools': { type: 'string', default: TOOLS.join(','), describe: 'which of routegen, ssh-loop, ansible' },
    'push-quiet-wait': { type: 'string', default: '10', describe: 'seconds to wait at most, before each measurement, for a quiet machine' },
    'push-bastion': { type: 'boolean', describe: 'hosts reachable only through a bastion: routegen -J vs ssh -J per host' },
    repo: { type: 'string', describe: 'routegen checkout(s) to measure, comma-separated [default: this one]' },
    'no-build': { type: 'boolean', describe: 'do not run npm run build when dist/ is stale' },
  },
  async run(v: OptionValues, ctx: BenchContext): Promise<BenchResult> {
    const r = await pushBench({
      runs: wholeOption('push-runs', v['push-runs'], { fallback: 3 }),
      workers: wholeOption('push-workers', v['push-workers'], { fallback: 50 }),
      parallel: wholeOption('push-parallel', v['push-parallel'], { fallback: 10 }),
      tools: toolsOf(v['push-tools']),
      repos: reposOf(v.repo),
      build: !v['no-build'],
      bastion: Boolean(v['push-bastion']),
      quietWaitS: Number(v['push-quiet-wait'] ?? 10),
      log: ctx.log,
    });
    const tables = [{ ...r.table, notes: r.notes }];
    const { table: _t, ...raw } = r;
    return { tables, raw, targetsMet: r.targetsMet };
  },
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      runs: { type: 'string' },
      workers: { type: 'string' },
      parallel: { type: 'string' },
      tools: { type: 'string' },
      repo: { type: 'string' },
      bastion: { type: 'boolean' },
      'quiet-wait': { type: 'string' },
      'no-build': { type: 'boolean' },
      keep: { type: 'boolean' },
      json: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(9, 12).map((l) => l.replace(/^ \*/, '')).join('\n')}\n`);
    return 0;
  }
  const machine = machineInfo();
  process.stdout.write(`${describeMachine(machine)}\n\n`);
  const r = await pushBench({
    runs: wholeOption('runs', values.runs, { fallback: 3 }),
    workers: wholeOption('workers', values.workers, { fallback: 50 }),
    parallel: wholeOption('parallel', values.parallel, { fallback: 10 }),
    tools: toolsOf(values.tools),
    repos: reposOf(values.repo),
    build: !values['no-build'],
    bastion: Boolean(values.bastion),
    keep: Boolean(values.keep),
    quietWaitS: values['quiet-wait'] === undefined ? 10 : Number(values['quiet-wait']),
  });
  for (const [k, v] of Object.entries(r.versions)) process.stdout.write(`${k}: ${v}\n`);
  process.stdout.write(`\n## ${r.table.title}\n\n${formatTable(r.table)}\n\n${r.notes.map((n) => `- ${n}`).join('\n')}\n`);
  process.stdout.write(`\nbenchmark took ${r.seconds.toFixed(0)} s; load average at the end: ${machineInfo().loadAverage.map((x) => x.toFixed(2)).join(' ')}\n`);
  if (values.json) {
    const { table: _t, ...raw } = r;
    writeFileSync(values.json, `${JSON.stringify(raw, null, 2)}\n`);
  }
  return r.targetsMet ? 0 : 1;
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`push benchmark failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
