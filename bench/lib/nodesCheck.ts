/**
 * The kubectl benchmark's clusters, and the checks that both sides of each comparison do the
 * same work: plan prints the same routes from nodes.json as from machines.txt, render writes the
 * same files (diff -r).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodesMachinesTxt, writeNodesJson } from './nodes.js';
import { REPO } from './routegen.js';
import { num } from './table.js';

export const BIN = join(REPO, 'bin/routegen.js');
export const RENDER_ARGS = ['--stack', 'networkd', '--interface', 'eth1', '-q'];
const VERIFY_RENDER_NODES = 100;

export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NODE_OPTIONS; // not this process's loader (tsx)
  return env;
}

/** The cluster of `n` nodes as nodes.json and machines.txt in `dir/<n>`. */
export function cluster(work: string, n: number): { dir: string; bytes: number } {
  const dir = join(work, String(n));
  mkdirSync(dir, { recursive: true });
  const bytes = writeNodesJson(join(dir, 'nodes.json'), n);
  writeFileSync(join(dir, 'machines.txt'), nodesMachinesTxt(n));
  return { dir, bytes };
}

function output(argv: string[], cwd: string): string {
  const r = spawnSync(process.execPath, argv, { cwd, env: childEnv(), encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`BENCHMARK INVALID: node ${argv.join(' ')} exited ${r.status ?? r.signal} in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** plan prints the same routes from nodes.json as from machines.txt (file names aside). */
export function verifyPlan(dir: string, n: number, log: (s: string) => void): void {
  const plan = (file: string) => output([BIN, 'plan', '-i', file, '--hosts', 'node-1'], dir).replaceAll(file, 'INVENTORY');
  const json = plan('nodes.json');
  if (json !== plan('machines.txt')) throw new Error(`BENCHMARK INVALID: plan of ${n} nodes differs between nodes.json and machines.txt (in ${dir})`);
  if (!json.includes(`1 host, ${n - 1} routes`)) throw new Error(`BENCHMARK INVALID: plan of ${n} nodes does not say "1 host, ${n - 1} routes":\n${json.slice(-400)}`);
  log(`verified: plan of ${num(n)} nodes prints the same ${num(n - 1)} routes from nodes.json as from machines.txt`);
}

/** render writes byte-identical trees from both inventories (given the same file name, which
 * every file's header names). */
export function verifyRender(work: string, log: (s: string) => void): void {
  const dir = join(work, 'verify-render');
  const outs = ['json', 'txt'].map((kind) => {
    const sub = join(dir, kind);
    mkdirSync(sub, { recursive: true });
    if (kind === 'json') writeNodesJson(join(sub, 'inventory'), VERIFY_RENDER_NODES);
    else writeFileSync(join(sub, 'inventory'), nodesMachinesTxt(VERIFY_RENDER_NODES));
    output([BIN, 'render', '-i', 'inventory', ...RENDER_ARGS, '--out', 'out'], sub);
    return join(sub, 'out');
  });
  const diff = spawnSync('diff', ['-r', ...outs], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (diff.status !== 0) throw new Error(`BENCHMARK INVALID: render writes different files from nodes.json and machines.txt (diff -r ${outs.join(' ')}):\n${diff.stdout.slice(0, 2000)}`);
  if (readdirSync(outs[0]!).length !== VERIFY_RENDER_NODES) throw new Error(`BENCHMARK INVALID: render of ${VERIFY_RENDER_NODES} nodes wrote ${readdirSync(outs[0]!).length} hosts`);
  log(`verified: render of ${VERIFY_RENDER_NODES} nodes writes identical trees from nodes.json and machines.txt (diff -r)`);
}
