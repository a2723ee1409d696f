/**
 * Remote commands on a logged-in connection: argument checks (nothing is ever quoted, so
 * nothing unsafe is ever sent), sudo, and time limits enforced on the host itself.
 */
import { constants } from 'node:os';
import type { Client, ClientChannel } from 'ssh2';
import { RemoteError, sudoHint } from './errors.js';
import { MAX_COMMAND_OUTPUT_BYTES, mib } from './limits.js';
import { RequestChannel } from './requests.js';
import { SAFE_ARG } from './safeArg.js';
import type { SshTarget } from './sshConfig.js';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Run as root: `sudo -n` in front when the login user is not root. */
  sudo?: boolean;
  /** Written to the command's stdin, which is then closed (it is closed at once without). */
  input?: string | Buffer;
  timeoutMs?: number;
}

export interface RawResult extends ExecResult {
  stdoutBuf: Buffer;
  elapsedMs: number;
}

/** root; a user with passwordless sudo; or why the user cannot be root. */
export type SudoState = 'root' | 'ok' | 'password' | 'missing' | 'failed';

/** `timeout -k`: seconds between TERM and KILL for a command over its time. */
const TIMEOUT_KILL_AFTER_S = 5;
const SUDO_PASSWORD = /a password is required|a terminal is required|no tty present/i;

/** What to do when the login user cannot become root without a password. */
export const NOPASSWD_HINT = sudoHint;

/** Programming errors: an argument routegen itself built is unsafe for a remote shell. */
export class UnsafeCommandError extends Error {
  override name = 'UnsafeCommandError';
}

/** Throws UnsafeCommandError unless every argument matches SAFE_ARG. */
export function assertSafeArgs(argv: string[]): void {
  if (argv.length === 0) throw new UnsafeCommandError('empty command');
  for (const a of argv) {
    if (!SAFE_ARG.test(a)) {
      throw new UnsafeCommandError(`unsafe argument for a remote command: ${JSON.stringify(a)} (allowed: ${SAFE_ARG.source})`);
    }
  }
}

/** Throws UnsafeCommandError unless `path` is absolute, without NUL or `..`. */
export function assertRemotePath(path: string): void {
  if (!path.startsWith('/') || path.includes('\0') || path.split('/').includes('..')) {
    throw new UnsafeCommandError(`remote paths must be absolute, without "..": ${JSON.stringify(path)}`);
  }
}

/** The exit status a shell reports for a process killed by `signal` (128 + its number). */
function signalExit(signal: string): number {
  const n = (constants.signals as Record<string, number | undefined>)[`SIG${signal.replace(/^SIG/, '')}`];
  return 128 + (n ?? 0);
}

/** Commands on one connection. Not queued: RemoteHost runs one operation at a time. */
export class Commands {
  private hasTimeoutBinary = true;
  sudoState: SudoState;

  constructor(
    private readonly client: Client,
    private readonly target: SshTarget,
    readonly timeoutMs: number,
    /** Why the connection was lost, once it was. */
    private readonly lost: () => string | undefined,
  ) {
    this.sudoState = target.user === 'root' ? 'root' : 'failed';
  }

  /** Finds out whether the (non-root) login user has passwordless sudo. */
  async probeSudo(): Promise<void> {
    if (this.target.user === 'root') return;
    const r = await this.execRaw('sudo -n true', undefined, this.timeoutMs, 'probe sudo');
    this.sudoState = r.code === 0 ? 'ok' : r.code === 127 ? 'missing' : SUDO_PASSWORD.test(r.stderr) ? 'password' : 'failed';
  }

  /** Throws kind 'sudo' unless the login user is root or has passwordless sudo. */
  requireSudo(step: string): void {
    const user = this.target.user;
    const host = this.target.alias;
    switch (this.sudoState) {
      case 'root': case 'ok': return;
      case 'password':
        throw new RemoteError(`${step}: sudo on ${host} asks ${user} for a password`, { kind: 'sudo', step, host, hint: NOPASSWD_HINT(user) });
      case 'missing':
        throw new RemoteError(`${step}: ${user} is not root and sudo is not installed on ${host}`, { kind: 'sudo', step, host, hint: 'connect as root, or install sudo with a NOPASSWD rule' });
      default:
        throw new RemoteError(`${step}: ${user} is not root and \`sudo -n true\` failed on ${host}`, { kind: 'sudo', step, host, hint: NOPASSWD_HINT(user) });
    }
  }

  /** `command` (already checked) as the login user, or through `sudo -n` when asked and needed. */
  async run(command: string, label: string, opts: ExecOptions): Promise<ExecResult> {
    const useSudo = opts.sudo === true && this.target.user !== 'root';
    if (useSudo) this.requireSudo(`exec ${label}`);
    const r = await this.execRaw(useSudo ? `sudo -n ${command}` : command, opts.input, opts.timeoutMs ?? this.timeoutMs, `exec ${label}`);
    if (useSudo && r.code !== 0 && SUDO_PASSWORD.test(r.stderr)) {
      throw new RemoteError(`sudo on ${this.target.alias} asks ${this.target.user} for a password`, {
        kind: 'sudo', step: `exec ${label}`, host: this.target.alias, stderr: r.stderr, exitCode: r.code, hint: NOPASSWD_HINT(this.target.user),
      });
    }
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs argv and turns a non-zero exit into RemoteError 'command'. */
  async runChecked(step: string, argv: string[], sudo: boolean): Promise<ExecResult> {
    assertSafeArgs(argv);
    const r = await this.run(argv.join(' '), argv[0]!, { sudo });
    if (r.code !== 0) throw this.commandError(step, argv, r, sudo);
    return r;
  }

  commandError(step: string, argv: string[], r: ExecResult, sudo: boolean): RemoteError {
    const stderr = r.stderr.trim();
    return new RemoteError(`${step}: \`${sudo && this.target.user !== 'root' ? 'sudo -n ' : ''}${argv.join(' ')}\` exited ${r.code}${stderr ? `: ${stderr.split('\n').slice(-3).join(' / ')}` : ''}`, {
      kind: 'command', step, host: this.target.alias, stderr: r.stderr, exitCode: r.code,
    });
  }

  /**
   * Runs `command` under the remote `timeout -k 5 SECONDS` (coreutils/busybox): OpenSSH 9.2
   * refuses SSH signal requests on root sessions ("session signalling requires privilege
   * separation"), so closing the channel would leave the command running. Exit 124 (or 137
   * after the -k grace) past the deadline is reported as kind 'timeout'. A local timer with
   * a margin covers a host that stops answering. Hosts without `timeout` run commands bare.
   */
  async execRaw(command: string, input: string | Buffer | undefined, timeoutMs: number, step: string): Promise<RawResult> {
    if (this.hasTimeoutBinary) {
      const secs = String(Math.max(1, Math.ceil(timeoutMs)) / 1000);
      const r = await this.execChannel(`timeout -k ${TIMEOUT_KILL_AFTER_S} ${secs} ${command}`, input, timeoutMs + (TIMEOUT_KILL_AFTER_S + 5) * 1000, step);
      if (r.code === 127 && /\btimeout: (command )?not found|timeout: No such file/.test(r.stderr)) {
        this.hasTimeoutBinary = false; // the command itself never started
      } else {
        if ((r.code === 124 || r.code === 137) && r.elapsedMs >= timeoutMs - 50) {
          throw new RemoteError(`${step}: timed out after ${timeoutMs} ms: ${command}`, {
            kind: 'timeout', step, host: this.target.alias, stderr: r.stderr, exitCode: r.code,
          });
        }
        return r;
      }
    }
    return this.execChannel(command, input, timeoutMs, step);
  }

  /**
   * Starts `argv` (checked) as a process that answers requests one line at a time (requests.ts),
   * through `sudo -n` when asked and needed. Not under `timeout`: it ends when its input does
   * (the channel closed, or the connection lost), and what it starts may outlive it.
   */
  async openRequests(argv: string[], opts: { sudo?: boolean }, mark: string): Promise<RequestChannel> {
    assertSafeArgs(argv);
    const useSudo = opts.sudo === true && this.target.user !== 'root';
    const step = `start ${argv.join(' ')}`;
    if (useSudo) this.requireSudo(step);
    const command = `${useSudo ? 'sudo -n ' : ''}${argv.join(' ')}`;
    const host = this.target.alias;
    const stream = await new Promise<ClientChannel>((resolve, reject) => {
      this.client.exec(command, (err: Error | undefined, s: ClientChannel) => {
        if (err) reject(new RemoteError(`${step}: cannot start a remote command: ${err.message}`, { kind: this.lost() ? 'connect' : 'command', step, host, cause: err }));
        else resolve(s);
      });
    });
    return new RequestChannel(stream, mark, host, this.lost);
  }

  private execChannel(command: string, input: string | Buffer | undefined, timeoutMs: number, step: string): Promise<RawResult> {
    const host = this.target.alias;
    const started = performance.now();
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err: Error | undefined, stream: ClientChannel) => {
        if (err) {
          reject(new RemoteError(`${step}: cannot start a remote command: ${err.message}`, { kind: this.lost() ? 'connect' : 'command', step, host, cause: err }));
          return;
        }
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let code: number | null = null;
        let signal: string | undefined;
        let settled = false;
        const timer = setTimeout(() => {
          settled = true;
          stream.close();
          reject(new RemoteError(`${step}: timed out after ${timeoutMs} ms (no answer from the host): ${command}`, {
            kind: 'timeout', step, host, stderr: Buffer.concat(errOut).toString('utf8'),
          }));
        }, timeoutMs);
        // Bounded: a host printing without end fails this command, it does not fill memory.
        let outBytes = 0;
        let errBytes = 0;
        const overflow = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          stream.close();
          reject(new RemoteError(`${step}: the host printed more than ${mib(MAX_COMMAND_OUTPUT_BYTES)}, which no command routegen runs does; routegen read no further: ${command}`, {
            kind: 'command', step, host, stderr: Buffer.concat(errOut).subarray(0, 4096).toString('utf8'),
          }));
        };
        stream.on('data', (d: Buffer) => {
          outBytes += d.length;
          if (outBytes > MAX_COMMAND_OUTPUT_BYTES) overflow();
          else out.push(d);
        });
        stream.stderr.on('data', (d: Buffer) => {
          errBytes += d.length;
          if (errBytes > MAX_COMMAND_OUTPUT_BYTES) overflow();
          else errOut.push(d);
        });
        stream.on('exit', (c: number | null, sig?: string) => {
          code = c;
          signal = sig ?? undefined;
        });
        stream.on('close', () => {
          clearTimeout(timer);
          if (settled) return;
          settled = true;
          const stdoutBuf = Buffer.concat(out);
          const stderr = Buffer.concat(errOut).toString('utf8');
          const lost = this.lost();
          if (code === null && lost !== undefined) {
            reject(new RemoteError(`${step}: connection lost (${lost})`, { kind: 'connect', step, host, stderr }));
            return;
          }
          resolve({
            code: code ?? (signal !== undefined ? signalExit(signal) : -1),
            stdout: stdoutBuf.toString('utf8'),
            stdoutBuf,
            stderr: signal !== undefined ? `${stderr}${stderr && !stderr.endsWith('\n') ? '\n' : ''}killed by signal ${signal}\n` : stderr,
            elapsedMs: performance.now() - started,
          });
        });
        if (input !== undefined) stream.end(input);
        else stream.end();
      });
    });
  }
}
