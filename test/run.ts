/**
 * What `npm run test:parallel` runs: every test/**\/*.test.ts with uvu, as `npm test` does, but
 * in parallel processes. The unit files share one process; each lab file (test/lab/) gets its
 * own, since a lab file spends most of its
 * time waiting on its hosts (SSH, timers they arm, daemons starting), not on the CPU. Lab files
 * share no state: each lab has its own namespaces (a prefix per process), directory and hosts.
 *
 *   node --import tsx test/run.ts [REGEX]     files whose path under test/ matches REGEX (default all)
 *
 * ROUTEGEN_TEST_JOBS: processes at a time (default 3). Each process's output is printed whole
 * when it ends, then a table of how long each took; exits 1 if any failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const TEST_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(TEST_DIR);
const UVU = path.join(ROOT, 'node_modules', 'uvu', 'bin.js');

/** The test files under `dir`, as paths relative to it ("lab/push.test.ts"). */
function testFiles(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : testFiles(dir, p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One uvu process: a label and the files it runs. */
interface Job {
  label: string;
  files: string[];
}

/**
 * The unit files as one job, then each lab file, largest first (a cheap guess at the longest:
 * starting those first keeps the last lane from running alone at the end).
 */
function plan(filter: RegExp): Job[] {
  const files = testFiles(TEST_DIR).filter((f) => filter.test(f)).sort();
  const lab = files.filter((f) => f.startsWith('lab/'));
  const unit = files.filter((f) => !f.startsWith('lab/'));
  const size = (f: string) => fs.statSync(path.join(TEST_DIR, f)).size;
  return [...(unit.length ? [{ label: 'unit files', files: unit }] : []), ...lab.sort((a, b) => size(b) - size(a)).map((f) => ({ label: f, files: [f] }))];
}

interface Done {
  job: Job;
  code: number;
  ms: number;
}

const running = new Set<ChildProcess>();

function runJob(job: Job): Promise<Done> {
  const t0 = Date.now();
  process.stdout.write(`--- started ${job.label}\n`);
  const pattern = `^(${job.files.map(escape).join('|')})$`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', UVU, 'test', pattern], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    const finish = (code: number) => {
      running.delete(child);
      const ms = Date.now() - t0;
      process.stdout.write(`\n=== ${job.label} (${(ms / 1000).toFixed(1)} s, exit ${code})\n${Buffer.concat(out).toString()}`);
      resolve({ job, code, ms });
    };
    child.on('error', (e) => {
      out.push(Buffer.from(`cannot start uvu: ${e.message}\n`));
      finish(1);
    });
    child.on('close', (code, signal) => finish(code ?? (signal ? 1 : 0)));
  });
}


const jobsEnv = process.env.ROUTEGEN_TEST_JOBS;
const width = jobsEnv ? Number(jobsEnv) : 3;
if (!Number.isInteger(width) || width < 1) {
  process.stderr.write(`ROUTEGEN_TEST_JOBS must be a whole number >= 1; got ${JSON.stringify(jobsEnv)}\n`);
  process.exit(2);
}
const queue = plan(new RegExp(process.argv[2] ?? '\\.test\\.ts$'));
if (queue.length === 0) {
  process.stderr.write(`no test file under test/ matches ${process.argv[2]}\n`);
  process.exit(2);
}
// A ^C or SIGTERM reaches each test process (their labs tear down on it); nothing new starts.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    queue.length = 0;
    for (const c of running) c.kill(sig);
    process.exitCode = 130;
  });
}
const t0 = Date.now();
const done: Done[] = [];
await Promise.all(
  Array.from({ length: Math.min(width, queue.length) }, async () => {
    for (let job = queue.shift(); job; job = queue.shift()) done.push(await runJob(job));
  }),
);
const failed = done.filter((d) => d.code !== 0);
process.stdout.write(`\n=== ${done.length} processes, ${width} at a time, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
for (const d of done.sort((a, b) => b.ms - a.ms)) {
  process.stdout.write(`${(d.ms / 1000).toFixed(1).padStart(7)} s  ${d.code === 0 ? 'ok  ' : 'FAIL'}  ${d.job.label}\n`);
}
if (failed.length) {
  process.stdout.write(`FAILED: ${failed.map((d) => d.job.label).join(', ')}\n`);
  process.exitCode = 1;
}
