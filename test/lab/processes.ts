/**
 * Process bookkeeping: running programs, recognising the processes the lab started (PID plus
 * start time, so a reused PID is never killed), killing exactly those at tear-down, and making
 * sure a lab goes down with the process that owns it (exit and signal handlers, and a watchdog
 * for when this process dies without running them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bound } from '../helpers/time.js';
import type { HostState } from './topology.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
}

/** The PATH a root SSH session gets from OpenSSH on Debian; the lab's stand-ins come first. */
const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The environment of a command run in a host: what a root login there has. */
export function cleanEnv(extra?: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: HOST_PATH, HOME: '/root', LANG: 'C.UTF-8', ...extra };
}

/** Run a program; never rejects for a non-zero exit (only for a failure to start it). */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string; track?: Set<ChildProcess> } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    opts.track?.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer =
      opts.timeoutMs && opts.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs)
        : undefined;
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      opts.track?.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      opts.track?.delete(child);
      let stderr = Buffer.concat(err).toString();
      if (timedOut) stderr += `\n[lab] ${cmd} timed out after ${opts.timeoutMs} ms and was killed`;
      resolve({
        code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1),
        stdout: Buffer.concat(out).toString(),
        stderr,
      });
    });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(opts.input ?? '');
  });
}

/** `run`, rejecting with the program's own message when it exits non-zero; resolves to stdout. */
export async function runOk(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}

/** Where a program is, on this PATH or the hosts' PATH; null when it is not installed. */
export function which(prog: string): string | null {
  if (prog.includes('/')) return fs.existsSync(prog) ? prog : null;
  const dirs = `${process.env.PATH ?? ''}:${HOST_PATH}`.split(':').filter(Boolean);
  for (const d of dirs) {
    const p = path.join(d, prog);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The fields of /proc/PID/stat after the command name (state first), or null when the process is gone. */
function statFields(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Field 22 of /proc/PID/stat (start time), or null when the process is gone. */
export function procStart(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/** The PID of a process's only child (the host's init is the unshare process's), or 0. */
export function onlyChild(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0]) || 0;
  } catch {
    // Kernels without CONFIG_PROC_CHILDREN: look for it.
    for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      if (statFields(Number(p))?.[1] === String(pid)) return Number(p);
    }
    return 0;
  }
}

/** Running (not gone, not a zombie) and still the process we recorded. */
export function isOurs(pid: number, start: string): boolean {
  if (!pid) return false;
  const fields = statFields(pid);
  return fields !== null && fields[0] !== 'Z' && fields[0] !== 'X' && fields[19] === start;
}

/** Dead: gone, or a zombie waiting for its parent. */
function isZombie(pid: number): boolean {
  const s = statFields(pid)?.[0];
  return s === undefined || s === 'Z' || s === 'X';
}

/** The file in the lab dir that lists the `unshare` PIDs, for the watchdog. */
const UNSHARE_PIDS = 'unshare-pids';

/** Record a host's `unshare` PID where the watchdog finds it. */
export function recordUnsharePid(dir: string, pid: number): void {
  fs.appendFileSync(path.join(dir, UNSHARE_PIDS), `${pid}\n`);
}

// ------------------------------------------------------------------------------- killing

/**
 * Kill the processes the lab started from here, and the hosts' inits (PID 1 of each host: the
 * kernel then kills everything in that host), if they are still the processes we recorded.
 * Returns the PIDs to wait for.
 */
function killInits(hosts: readonly HostState[], children: Set<ChildProcess>): number[] {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  children.clear();
  return killIfOurs(hosts.map((h) => [h.pid, h.pidStart]));
}

/**
 * Each `unshare` parent exits by itself once its child is dead (and reaps it); kill the ones
 * that have not (their init never came up, say). Returns the PIDs to wait for.
 */
function killUnshares(hosts: readonly HostState[]): number[] {
  return killIfOurs(hosts.map((h) => [h.unsharePid, h.unshareStart]));
}

function killIfOurs(procs: Array<[number, string]>): number[] {
  const waitFor: number[] = [];
  for (const [pid, start] of procs) {
    if (pid && start && isOurs(pid, start)) {
      try {
        process.kill(pid, 'SIGKILL');
        waitFor.push(pid);
      } catch {
        /* gone */
      }
    }
  }
  return waitFor;
}

/** Kill the hosts (inits first, then their `unshare` parents), each step waiting until they are dead. */
export async function killHosts(hosts: readonly HostState[], children: Set<ChildProcess>): Promise<void> {
  for (const kill of [() => killInits(hosts, children), () => killUnshares(hosts)]) {
    const waitFor = kill();
    const deadline = Date.now() + bound(5000);
    while (waitFor.some((p) => !isZombie(p)) && Date.now() < deadline) await sleepMs(5);
  }
}

/** The same, synchronously (for process 'exit' handlers). */
export function killHostsSync(hosts: readonly HostState[], children: Set<ChildProcess>): void {
  for (const kill of [() => killInits(hosts, children), () => killUnshares(hosts)]) {
    const waitFor = kill();
    const deadline = Date.now() + bound(5000);
    while (waitFor.some((p) => !isZombie(p)) && Date.now() < deadline) sleepSync(5);
  }
}

// --------------------------------------------------- tear-down on exit, for this process's labs

const liveLabs = new Set<{ downSync(): void }>();
let handlersInstalled = false;

function onExit(): void {
  for (const lab of [...liveLabs]) lab.downSync();
}

function onSignal(signal: NodeJS.Signals): void {
  onExit();
  process.exit(128 + (os.constants.signals[signal] ?? 0));
}

/** From now on, `lab.downSync()` runs when this process exits or gets SIGINT, SIGTERM or SIGHUP. */
export function downOnExit(lab: { downSync(): void }): void {
  liveLabs.add(lab);
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
}

/** Undoes `downOnExit` (the lab is down, or left running on purpose). */
export function notDownOnExit(lab: { downSync(): void }): void {
  liveLabs.delete(lab);
  if (!handlersInstalled || liveLabs.size > 0) return;
  handlersInstalled = false;
  process.off('exit', onExit);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
}

/**
 * A process outside the lab's namespaces that cleans up if this process dies without running
 * its exit handlers (SIGKILL, crash), even in the middle of bring-up: on EOF on its stdin it
 * waits for the hosts to end (they die on their own lifeline), then deletes the lab's
 * namespaces and dir.
 */
export function startWatchdog(dir: string, namespaces: readonly string[]): ChildProcess {
  const nsDel = namespaces.map((n) => `netns del ${n}\\n`).join('');
  const pids = path.join(dir, UNSHARE_PIDS);
  const script = [
    'cat >/dev/null',
    `if [ -r '${pids}' ]; then for p in $(cat '${pids}'); do`,
    `  n=0; while [ $n -lt 500 ] && [ -r /proc/$p/stat ] && ! grep -q ') [ZX] ' /proc/$p/stat; do n=$((n+1)); sleep 0.01; done`,
    'done; fi',
    `printf '${nsDel}' | ip -force -batch - >/dev/null 2>&1`,
    `rm -rf '${dir}'`,
  ].join('\n');
  const wd = spawn('/bin/sh', ['-c', script], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], cwd: '/' });
  wd.unref();
  (wd.stdin as unknown as { unref?: () => void }).unref?.();
  wd.stdin!.on('error', () => undefined);
  return wd;
}
