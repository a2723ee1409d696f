/** The live progress of a run over hosts on stderr: a line per host in flight on a terminal, a line per finished host elsewhere. */
import type { Colors } from './report.js';
import type { HostResult, Step } from './push/pushHost.js';

const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A live line per host in flight on a terminal (stderr), with finished hosts scrolling above
 * and a count at the bottom ('live'). Off a terminal ('lines'), one line per finished host, so a
 * long push shows its progress in a log; 'off' for --json and --quiet.
 */
export class Progress {
  private readonly active = new Map<string, { step: Step; t0: number }>();
  private drawn = 0;
  private done = 0;
  private failed = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly total: number,
    private readonly mode: 'live' | 'lines' | 'off',
    private readonly c: Colors,
    private readonly write: (s: string) => void = (s) => process.stderr.write(s),
  ) {
    if (mode === 'live') this.timer = setInterval(() => this.draw(), 100);
  }

  private get enabled(): boolean {
    return this.mode === 'live';
  }

  start(host: string): void {
    this.active.set(host, { step: 'connecting', t0: Date.now() });
  }

  step(host: string, step: Step): void {
    const a = this.active.get(host);
    if (a) a.step = step;
  }

  finish(r: HostResult, line: string): void {
    this.active.delete(r.host);
    this.done++;
    if (r.outcome === 'failed' || r.outcome === 'rolled back') this.failed++;
    if (this.mode === 'lines') this.write(`${line}  (${this.done}/${this.total})\n`);
    if (!this.enabled) return;
    this.clear();
    this.write(`${line}\n`);
    this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.enabled) this.clear();
  }

  private clear(): void {
    if (this.drawn > 0) this.write(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.enabled) return;
    this.clear();
    this.frame = (this.frame + 1) % SPIN.length;
    const names = [...this.active.keys()];
    const w = Math.max(4, ...names.map((n) => n.length));
    const lines = [...this.active].map(([host, a]) => `${this.c.cyan(SPIN[this.frame]!)} ${host.padEnd(w)}  ${a.step.padEnd(12)} ${this.c.dim(`${((Date.now() - a.t0) / 1000).toFixed(1)}s`)}`);
    lines.push(this.c.dim(`${this.done}/${this.total} hosts done${this.failed ? `, ${this.failed} failed` : ''}`));
    this.write(lines.join('\n') + '\n');
    this.drawn = lines.length;
  }
}
