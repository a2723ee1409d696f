/** What bench/run.ts expects of a benchmark module (bench/<name>.ts exporting `benchmark`). */
import type { MachineInfo } from './machine.js';
import type { ResultTable } from './table.js';

export type OptionValues = Record<string, string | boolean | undefined>;

export interface OptionSpec {
  type: 'string' | 'boolean';
  describe: string;
  default?: string | boolean;
}

export interface BenchContext {
  machine: MachineInfo;
  /** Progress and warnings (stderr). */
  log(text: string): void;
}

export interface BenchResult {
  tables: ResultTable[];
  /** Every measurement, for --json. */
  raw: unknown;
  /** False when a target is missed (run.ts then exits 1, so CI can use it). */
  targetsMet: boolean;
}

export interface Benchmark {
  name: string;
  description: string;
  /** Options of this benchmark; run.ts accepts the union of all benchmarks' options. */
  options: Record<string, OptionSpec>;
  run(values: OptionValues, ctx: BenchContext): Promise<BenchResult>;
}

/** A whole-number option (`--NAME`) of at least `least` (default 1); `fallback` when it is not
 * given (without one, not giving it is an error too). */
export function wholeOption(name: string, v: unknown, opts: { fallback?: number; least?: number } = {}): number {
  if (v === undefined && opts.fallback !== undefined) return opts.fallback;
  const least = opts.least ?? 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < least) throw new Error(`--${name} takes a whole number ≥ ${least}, not "${String(v)}"`);
  return n;
}
