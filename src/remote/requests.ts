/**
 * One remote process that answers many requests: a line of arguments in, the answer's stdout and
 * stderr out, each ending with a marker line (stdout's with the exit code). A push asks a host
 * five or six things; one process for all of them spares the host a session, a login shell and
 * a `timeout` per question (templates/routegen-host.sh `serve`).
 */
import type { ClientChannel } from 'ssh2';
import { assertSafeArgs, type ExecResult } from './commands.js';
import { RemoteError } from './errors.js';
import { MAX_COMMAND_OUTPUT_BYTES, mib } from './limits.js';

interface Waiting {
  resolve: (r: ExecResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** The end of an answer on a stream: `\n` + mark (+ ` CODE` on stdout) + `\n`. */
function takeAnswer(buf: Buffer, mark: string, withCode: boolean): { text: string; code: number; rest: Buffer } | undefined {
  const pattern = withCode ? new RegExp(`\\n${mark} (\\d+)\\n`) : new RegExp(`\\n${mark}\\n`);
  // The marker is ASCII: a latin1 view finds it at the same byte offsets.
  const m = pattern.exec(buf.toString('latin1'));
  if (!m) return undefined;
  return { text: buf.subarray(0, m.index).toString('utf8'), code: withCode ? Number(m[1]) : 0, rest: buf.subarray(m.index + m[0].length) };
}

export class RequestChannel {
  private out: Buffer = Buffer.alloc(0);
  private err: Buffer = Buffer.alloc(0);
  private waiting: Waiting | undefined;
  private answer: { text: string; code: number } | undefined;
  private errText: string | undefined;
  /** Why the channel cannot take more requests, once it cannot. */
  private broken: string | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly stream: ClientChannel,
    private readonly mark: string,
    private readonly host: string,
    /** Why the connection was lost, once it was. */
    private readonly lost: () => string | undefined,
  ) {
    stream.on('data', (d: Buffer) => this.onData('out', d));
    stream.stderr.on('data', (d: Buffer) => this.onData('err', d));
    stream.on('close', () => this.fail(this.lost() ? `connection lost (${this.lost()})` : `the host's helper ended${this.err.length ? `: ${this.err.toString('utf8').trim()}` : ''}`));
  }

  private onData(which: 'out' | 'err', d: Buffer): void {
    if (which === 'out') this.out = Buffer.concat([this.out, d]);
    else this.err = Buffer.concat([this.err, d]);
    if (this.out.length + this.err.length > MAX_COMMAND_OUTPUT_BYTES) {
      this.fail(`the host printed more than ${mib(MAX_COMMAND_OUTPUT_BYTES)}, which no command routegen runs does; routegen read no further`);
      this.stream.close();
      return;
    }
    if (!this.answer) {
      const a = takeAnswer(this.out, this.mark, true);
      if (a) {
        this.answer = a;
        this.out = a.rest;
      }
    }
    if (this.errText === undefined) {
      const e = takeAnswer(this.err, this.mark, false);
      if (e) {
        this.errText = e.text;
        this.err = e.rest;
      }
    }
    if (this.answer && this.errText !== undefined && this.waiting) {
      const w = this.waiting;
      const r = { code: this.answer.code, stdout: this.answer.text, stderr: this.errText };
      this.waiting = undefined;
      this.answer = undefined;
      this.errText = undefined;
      clearTimeout(w.timer);
      w.resolve(r);
    }
  }

  private fail(why: string): void {
    this.broken ??= why;
    const w = this.waiting;
    this.waiting = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.reject(new RemoteError(`${why}`, { kind: this.lost() ? 'connect' : 'command', step: 'helper', host: this.host, stderr: this.err.toString('utf8') }));
    }
  }

  /** Sends one request (arguments checked like exec's) and waits for its answer. A non-zero exit
   * is a result; a timeout breaks the channel (RemoteError kind 'timeout'). */
  request(args: string[], timeoutMs: number, step: string): Promise<ExecResult> {
    assertSafeArgs(args);
    const run = () =>
      new Promise<ExecResult>((resolve, reject) => {
        if (this.broken !== undefined) {
          reject(new RemoteError(`${step}: ${this.broken}`, { kind: this.lost() ? 'connect' : 'command', step, host: this.host }));
          return;
        }
        const timer = setTimeout(() => {
          this.waiting = undefined;
          this.broken ??= `an earlier request timed out`;
          this.stream.close();
          reject(new RemoteError(`${step}: timed out after ${timeoutMs} ms: ${args.join(' ')}`, { kind: 'timeout', step, host: this.host, stderr: this.err.toString('utf8') }));
        }, timeoutMs);
        this.waiting = {
          resolve,
          reject: (e) => reject(e instanceof RemoteError ? new RemoteError(`${step}: ${e.message}`, { kind: e.kind, step, host: this.host, ...(e.stderr !== undefined && { stderr: e.stderr }) }) : e),
          timer,
        };
        this.stream.write(`${args.join(' ')}\n`);
      });
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Ends the helper (end of its stdin) without waiting for it. */
  close(): void {
    this.broken ??= 'closed';
    this.stream.end();
  }
}
