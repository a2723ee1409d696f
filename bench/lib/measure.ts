/**
 * Running a program under GNU time (`/usr/bin/time -v`, Debian package `time`) and reading its
 * wall time and peak RSS; medians; small statistics shared by every benchmark.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export interface Measurement {
  /** "Elapsed (wall clock) time" as GNU time prints it (resolution 0.01 s). */
  wallS: number;
  /** Wall time measured around the spawn with a monotonic clock (µs resolution; includes GNU time's own fork/exec, about 1 ms). */
  wallHrS: number;
  userS: number;
  sysS: number;
  /** "Maximum resident set size" in KiB: the largest RSS of the process or of any child it waited for. */
  maxRssKb: number;
}

/** Fails with the install command when GNU time is missing (it is not in a minimal Debian). */
export function requireGnuTime(): void {
  if (existsSync(GNU_TIME)) return;
  throw new Error(`${GNU_TIME} is missing: install GNU time (Debian/Ubuntu: apt-get install -y time). The shell keyword \`time\` cannot report peak memory.`);
}

/** "h:mm:ss.ss" or "m:ss.ss" → seconds. */
export function parseElapsed(text: string): number {
  const parts = text.trim().split(':').map(Number);
  if (parts.length < 2 || parts.some((p) => !Number.isFinite(p))) throw new Error(`cannot read GNU time's elapsed time "${text}"`);
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

/** Reads the fields we need from `time -v` output. */
export function parseTimeV(report: string): Omit<Measurement, 'wallHrS'> {
  const field = (label: string): string => {
    const line = report.split('\n').find((l) => l.trim().startsWith(label));
    if (!line) throw new Error(`GNU time's report has no "${label}" line:\n${report}`);
    return line.slice(line.lastIndexOf(': ') + 2).trim(); // "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.34"
  };
  return {
    wallS: parseElapsed(field('Elapsed (wall clock) time')),
    userS: Number(field('User time (seconds)')),
    sysS: Number(field('System time (seconds)')),
    maxRssKb: Number(field('Maximum resident set size (kbytes)')),
  };
}

/**
 * Runs argv under `/usr/bin/time -v` and returns what it measured. The program's stdout and
 * stderr are captured (and shown when it fails); a non-zero exit is an error.
 */
export function timeV(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Measurement {
  const dir = mkdtempSync(join(tmpdir(), 'bench-time-'));
  const report = join(dir, 'time.txt');
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(GNU_TIME, ['-v', '-o', report, ...argv], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
    const wallHrS = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.error) throw r.error;
    if (r.status !== 0) {
      throw new Error(`${argv.join(' ')} exited with ${r.status ?? r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    }
    return { ...parseTimeV(readFileSync(report, 'utf8')), wallHrS };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function min(xs: number[]): number {
  return Math.min(...xs);
}

export function max(xs: number[]): number {
  return Math.max(...xs);
}

/** Median wall time: the monotonic clock around `/usr/bin/time -v` (µs resolution; GNU time's
 * own Elapsed has 0.01 s, too coarse for the smallest runs). */
export const medianWall = (ms: Measurement[]) => median(ms.map((m) => m.wallHrS));
/** Median CPU time (user + sys of the program and the children it waited for): less sensitive
 * than wall time to others' work on a shared machine. */
export const medianCpu = (ms: Measurement[]) => median(ms.map((m) => m.userS + m.sysS));
