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
