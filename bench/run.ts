/**
 * routegen's benchmarks: `npm run bench` (all of them) or `npm run bench -- --only render`.
 *
 * A benchmark is a module bench/<name>.ts exporting `benchmark` (see lib/benchmark.ts): it is
 * found by its file name, nothing to register here. Only the selected modules are loaded, and
 * the command line may use the options of the selected ones. Prints the machine, then each
 * benchmark's table and whether its targets are met; exits 1 when a target is missed, 2 on bad
 * usage or a benchmark that could not run (e.g. an invalid reference).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Benchmark, OptionSpec } from './lib/benchmark.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { formatTable } from './lib/table.js';

const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));

/** bench/<name>.ts, except this file: every benchmark there is. */
function available(): string[] {
  return readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'run.ts')
    .map((f) => f.slice(0, -3))
    .sort();
}

async function load(name: string): Promise<Benchmark> {
  const mod = (await import(pathToFileURL(`${BENCH_DIR}${name}.ts`).href)) as { benchmark?: Benchmark };
  if (!mod.benchmark || typeof mod.benchmark.run !== 'function') throw new Error(`bench/${name}.ts does not export \`benchmark\` (see bench/lib/benchmark.ts)`);
  return mod.benchmark;
}

const COMMON: Record<string, OptionSpec> = {
  only: { type: 'string', describe: 'comma-separated benchmarks to run [default: all]' },
  json: { type: 'string', describe: 'also write every measurement to this JSON file' },
  help: { type: 'boolean', describe: 'show this help (with the options of the selected benchmarks, or of all)' },
};

function usage(names: string[], specs: Array<[string, Record<string, OptionSpec>]>): string {
  const lines = ['usage: npm run bench -- [options]     (node --import tsx bench/run.ts [options])', '', `benchmarks: ${names.join(', ')}`, ''];
  for (const [title, opts] of specs) {
    lines.push(`${title}:`);
    for (const [name, o] of Object.entries(opts)) {
      const flag = `--${name}${o.type === 'string' ? ' VALUE' : ''}`;
      lines.push(`  ${flag.padEnd(28)} ${o.describe}${o.default !== undefined ? ` [default: ${String(o.default)}]` : ''}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const names = available();
  // First pass: which benchmarks (their options are known only once they are loaded).
  const first = parseArgs({ args: argv, options: { only: { type: 'string' }, help: { type: 'boolean' } }, strict: false }).values;
  const selected = typeof first.only === 'string' ? first.only.split(',').map((s) => s.trim()).filter(Boolean) : names;
  const unknown = selected.filter((n) => !names.includes(n));
  if (unknown.length) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; in bench/: ${names.join(', ')}\n`);
    return 2;
  }
  const loaded: Benchmark[] = [];
  for (const name of selected) {
    try {
      loaded.push(await load(name));
    } catch (e) {
      process.stderr.write(`cannot load bench/${name}.ts: ${(e as Error).message}\n`);
      if (!first.help) return 2;
    }
  }

  const options: Record<string, OptionSpec> = { ...COMMON };
  for (const b of loaded) {
    for (const [k, o] of Object.entries(b.options)) {
      if (options[k] && options[k].type !== o.type) {
        process.stderr.write(`option --${k} means different things to two benchmarks (${b.name}); rename one\n`);
        return 2;
      }
      options[k] ??= o;
    }
  }
  const specs: Array<[string, Record<string, OptionSpec>]> = [['common', COMMON], ...loaded.map((b): [string, Record<string, OptionSpec>] => [`${b.name}: ${b.description}`, b.options])];
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(options).map(([k, o]) => [k, o.default === undefined ? { type: o.type } : { type: o.type, default: o.default }])) as never,
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | boolean | undefined> });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${usage(names, specs)}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage(names, specs));
    return 0;
  }

  const machine = machineInfo();
  const log = (s: string) => process.stderr.write(`${s}\n`);
  process.stdout.write(`${describeMachine(machine)}\n`);
  const json: Record<string, unknown> = { machine };
  let allMet = true;
  for (const b of loaded) {
    let result;
    try {
      result = await b.run(values, { machine, log });
    } catch (e) {
      process.stderr.write(`\nbenchmark ${b.name} failed: ${(e as Error).message}\n`);
      return 2;
    }
    for (const t of result.tables) {
      process.stdout.write(`\n## ${t.title}\n\n${formatTable(t)}\n\n${t.notes.map((n) => `- ${n}`).join('\n')}\n`);
    }
    json[b.name] = result.raw;
    allMet &&= result.targetsMet;
  }
  process.stdout.write(`\nload average at the end: ${machineInfo().loadAverage.map((x) => x.toFixed(2)).join(' ')}\n`);
  if (typeof values.json === 'string') writeFileSync(values.json, `${JSON.stringify(json, null, 2)}\n`);
  return allMet ? 0 : 1;
}

process.exitCode = await main();
