/**
 * What one host pays, in CPU, for the building blocks of a push — the figures behind the push
 * benchmark's ratios. With 10 hosts in flight on 2 cores that also run every host's sshd, the
 * push benchmark's machine is CPU-bound: a tool's wall time follows the CPU it costs the hosts
 * and itself.
 *
 *   node --import tsx bench/hostCost.ts [--runs 10] [--repo DIR] [--json FILE]
 *   npm run bench -- --only hostCost [--hostcost-runs 10]
 *
 * One lab host, node-0 of two (real sshd and systemd-networkd; test/lab/lab.ts), measured from the jumpbox one
 * operation at a time with nothing else in flight. Host CPU: every process in the host's PID
 * namespace (sshd and all it started, networkd), own time plus reaped children's, as
 * bench/push.ts counts it, read before and after each operation once the host is idle again.
 * Medians of `--runs`:
 *
 * - a login (TCP, key exchange, public key authentication, no channel; ssh2, as routegen) and a
 *   key exchange alone (closed before authenticating);
 * - on one login: a command session (`:` through the login shell), one program more (`/bin/true`
 *   against `:`), an SFTP session, `networkctl reload` with nothing changed;
 * - one host's whole job, side by side: the ssh loop of bench/push.ts (`ssh HOST 'mkdir -p D &&
 *   cat > D/F && networkctl reload' < F`) and `routegen push --hosts HOST`, each onto the host
 *   reset to routegen's absence (not measured). Client CPU of these from GNU time.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from 'ssh2';
import { Lab } from '../test/lab/lab.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { GNU_TIME, median, requireGnuTime } from './lib/measure.js';
import { cpuSecondsIn } from './lib/nsCpu.js';
import { ensureBuilt, REPO } from './lib/routegen.js';
import { wholeOption, type BenchContext, type BenchResult, type Benchmark, type OptionValues } from './lib/benchmark.js';
import { formatTable, num, type ResultTable } from './lib/table.js';

const DROPIN_DIR = '/etc/systemd/network/10-eth1.network.d';
const DROPIN = `${DROPIN_DIR}/60-routegen-pod-routes.conf`;
const RESET = `rm -rf ${DROPIN_DIR} /var/lib/routegen; networkctl reload; ip route flush proto static; true`;

interface Options {
  runs: number;
  repo: string;
  json?: string;
}

/** CPU ms used so far in `pid`'s PID namespace (lib/nsCpu.ts). */
const nsCpuMs = (pid: number): number => cpuSecondsIn([pid]) * 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the host spends no CPU for 300 ms (networkd done with a change), at most 10 s. */
async function settled(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let last = nsCpuMs(pid); Date.now() < deadline; ) {
    await sleep(300);
    const now = nsCpuMs(pid);
    if (now === last) return;
    last = now;
  }
}

interface Cost {
  what: string;
  hostMs: number;
  clientMs: number;
}

/** CPU time in /proc is counted in 10 ms ticks: a building block is measured BATCH times in a row
 * and divided, a whole job (a reset before each) one at a time. */
const BATCH = 20;

/**
 * `once` runs `runs` times (× `batch` in a row), each measurement alone on an idle host, `reset`
 * (not measured) before each; `once` returns the client CPU ms of programs it ran, else this
 * process's is taken. Per operation.
 */
async function cost(pid: number, runs: number, what: string, once: () => Promise<number | void>, how: { reset?: () => Promise<void>; batch?: number } = {}): Promise<Cost> {
  const batch = how.batch ?? BATCH;
  const host: number[] = [];
  const client: number[] = [];
  for (let i = 0; i < runs; i++) {
    await how.reset?.();
    await settled(pid);
    const h0 = nsCpuMs(pid);
    const c0 = process.cpuUsage();
    let programs = 0;
    for (let k = 0; k < batch; k++) programs += (await once()) ?? NaN;
    const c = process.cpuUsage(c0);
    await settled(pid);
    host.push((nsCpuMs(pid) - h0) / batch);
    client.push((Number.isNaN(programs) ? (c.user + c.system) / 1000 : programs) / batch);
  }
  return { what, hostMs: median(host), clientMs: median(client) };
}

/** The difference of two costs (one building block on top of another). */
const minus = (what: string, a: Cost, b: Cost): Cost => ({ what, hostMs: a.hostMs - b.hostMs, clientMs: a.clientMs - b.clientMs });

function login(host: string, key: Buffer, authenticate: boolean): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.on('error', reject);
    if (!authenticate) c.on('handshake', () => (c.end(), resolve(c)));
    c.on('ready', () => resolve(c));
    c.connect({ host, username: 'root', privateKey: key, hostVerifier: () => true, readyTimeout: 20_000 });
  });
}

function exec(c: Client, command: string): Promise<void> {
  return new Promise((resolve, reject) =>
    c.exec(command, (e, s) => {
      if (e) return reject(e);
      s.on('close', (code: number) => (code === 0 ? resolve() : reject(new Error(`${command}: exit ${code}`))));
      s.resume();
      s.stderr.resume();
    }),
  );
}

/** Runs argv under GNU time; returns its user + system CPU ms; throws on failure. */
function timed(argv: string[], input?: Buffer): number {
  const file = `/tmp/routegen-hostcost-${process.pid}.time`;
  const r = spawnSync(GNU_TIME, ['-f', '%U %S', '-o', file, ...argv], { input, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const [u, s] = readFileSync(file, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return ((u ?? 0) + (s ?? 0)) * 1000;
}

/** In the jumpbox: every measurement, against node-0 of the lab in `stateFile`. */
async function measureAll(stateFile: string, o: Options): Promise<Cost[]> {
  const lab = Lab.attach(stateFile);
  const h = lab.host('node-0');
  const pid = h.pid!;
  const key = readFileSync(lab.identityFile);
  const reset = async () => void (await lab.exec('node-0', ['sh', '-c', RESET]));
  const out: Cost[] = [];
  out.push(await cost(pid, o.runs, 'login (key exchange + public key authentication)', async () => void (await login(h.ip, key, true)).end()));
  out.push(await cost(pid, o.runs, 'key exchange alone (closed before authenticating)', async () => void (await login(h.ip, key, false))));
  const c = await login(h.ip, key, true);
  const session = await cost(pid, o.runs, 'command session (`:` in the login shell)', () => exec(c, ':'));
  const program = await cost(pid, o.runs, '`/bin/true` in a command session', () => exec(c, '/bin/true'));
  const reload = await cost(pid, o.runs, '`networkctl reload` in a command session', () => exec(c, 'networkctl reload'));
  out.push(session, minus('one program started (`/bin/true` against `:`)', program, session), minus('`networkctl reload`, nothing changed', reload, session));
  out.push(await cost(pid, o.runs, 'SFTP session', () => new Promise((res, rej) => c.sftp((e, s) => (e ? rej(e) : (s.end(), res()))))));
  c.end();
  const file = readFileSync(join(lab.dir, 'hostcost-render', 'node-0', DROPIN));
  const ssh = ['ssh', '-F', lab.sshConfigFile, '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', 'ControlPath=none', h.ip, `mkdir -p ${DROPIN_DIR} && cat > ${DROPIN} && networkctl reload`];
  out.push(await cost(pid, o.runs, 'ssh loop, one host (whole job)', async () => timed(ssh, file), { reset, batch: 1 }));
  const push = [process.execPath, join(o.repo, 'bin/routegen.js'), 'push', '-i', join(lab.dir, 'machines.txt'), '--ssh-config', lab.sshConfigFile, '--stack', 'networkd', '--interface', 'eth1', '--hosts', 'node-0', '-q'];
  out.push(await cost(pid, o.runs, 'routegen push, one host (whole job)', async () => timed(push), { reset, batch: 1 }));
  return out;
}

/** Brings up the lab (node-0 and node-1), measures from its jumpbox, tears it down. */
export async function hostCostBench(o: Options, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<{ costs: Cost[]; table: ResultTable }> {
  requireGnuTime();
  ensureBuilt(o.repo, log);
  const lab = await Lab.up({ workers: 2, withServer: false });
  try {
    const r = spawnSync(process.execPath, [join(o.repo, 'bin/routegen.js'), 'render', '-i', join(lab.dir, 'machines.txt'), '--stack', 'networkd', '--interface', 'eth1', '--out', join(lab.dir, 'hostcost-render'), '-q'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`render failed: ${r.stderr}`);
    const self = fileURLToPath(import.meta.url);
    const m = await lab.jumpbox([process.execPath, '--import', 'tsx', self, '--measure', lab.stateFile, '--runs', String(o.runs), '--repo', o.repo], { timeoutMs: 1_800_000, env: { NODE_OPTIONS: '' } });
    if (m.code !== 0) throw new Error(`measuring failed (${m.code}):\n${m.stderr}`);
    const costs = JSON.parse(m.stdout) as Cost[];
    const loop = costs.find((c) => c.what.startsWith('ssh loop'))!;
    const push = costs.find((c) => c.what.startsWith('routegen push'))!;
    const table: ResultTable = {
      title: `what one host pays, per operation: median of ${o.runs} measurements (a building block ${BATCH} times in a row, a whole job once), nothing else in flight`,
      columns: [{ key: 'what', title: 'operation' }, { key: 'host', title: 'host CPU ms', numeric: true }, { key: 'client', title: 'client CPU ms', numeric: true }],
      rows: costs.map((c) => ({ what: c.what, host: num(c.hostMs), client: num(c.clientMs) })),
      notes: [
        `routegen push / ssh loop, one host: host CPU ${(push.hostMs / loop.hostMs).toFixed(2)}x`,
        "client CPU of the whole jobs: the programs (GNU time), so routegen's is mostly Node's startup, paid once per run whatever the number of hosts; of the others: the measuring process (ssh2)",
        'host CPU includes what networkd does about a change; the building blocks are measured with nothing changed',
      ],
    };
    return { costs, table };
  } finally {
    await lab.down();
  }
}

export const benchmark: Benchmark = {
  name: 'hostCost',
  description: 'what one lab host pays in CPU for each building block of a push (login, session, program, SFTP, reload) and for one host\'s whole job, routegen vs the ssh loop',
  options: { 'hostcost-runs': { type: 'string', default: '10', describe: 'measurements of each operation' } },
  async run(v: OptionValues, ctx: BenchContext): Promise<BenchResult> {
    const runs = wholeOption('hostcost-runs', v['hostcost-runs'], { fallback: 10 });
    const r = await hostCostBench({ runs, repo: REPO }, ctx.log);
    return { tables: [r.table], raw: r.costs, targetsMet: true };
  },
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, repo: { type: 'string', default: REPO }, json: { type: 'string' }, measure: { type: 'string' } } });
  const o: Options = { runs: wholeOption('runs', values.runs, { fallback: 10 }), repo: values.repo!, ...(values.json !== undefined && { json: values.json }) };
  if (values.measure) {
    process.stdout.write(JSON.stringify(await measureAll(values.measure, o)));
    return;
  }
  const r = await hostCostBench(o);
  console.log(`${describeMachine(machineInfo())}\n\n## ${r.table.title}\n\n${formatTable(r.table)}\n\n${r.table.notes.map((n) => `- ${n}`).join('\n')}`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ machine: machineInfo(), runs: o.runs, costs: r.costs }, null, 2));
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  main().catch((e: unknown) => {
    console.error(`host cost benchmark failed: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}
