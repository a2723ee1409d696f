/** The routegen under test: a checkout with bin/routegen.js and a dist/ built from its src/. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This repository (bench/ lives at its top). */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

function* tsFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

/** src/ files whose dist/ JavaScript is missing or older than the source. */
export function staleSources(repo: string): string[] {
  const src = join(repo, 'src');
  const stale: string[] = [];
  for (const file of tsFiles(src)) {
    const out = join(repo, 'dist', relative(src, file).replace(/\.ts$/, '.js'));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(file).mtimeMs) stale.push(relative(repo, file));
  }
  return stale;
}

/** Runs `npm run build` in the checkout when dist/ is stale, as a user would before running it. */
export function ensureBuilt(repo: string, log: (s: string) => void): void {
  const stale = staleSources(repo);
  if (stale.length === 0 && existsSync(join(repo, 'dist/cli.js'))) return;
  log(`dist/ is stale (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? `, ... ${stale.length} files` : ''}): npm run build in ${repo}`);
  const r = spawnSync('npm', ['run', 'build'], { cwd: repo, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed in ${repo}:\n${r.stdout}\n${r.stderr}`);
}

/** The commit measured, and whether the working tree had uncommitted changes under src/ or templates/. */
export function describeCheckout(repo: string): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
  const rev = git('rev-parse', '--short', 'HEAD');
  if (rev.status !== 0) return `${repo} (not a git checkout)`;
  const dirty = git('status', '--porcelain', '--', 'src', 'templates').stdout.split('\n').filter(Boolean).length;
  return `${repo} at ${rev.stdout.trim()}${dirty ? ` + ${dirty} uncommitted change(s) in src/ or templates/` : ''}`;
}
