/**
 * A host's files, read and written from outside it through /proc/PID/root of its init (which
 * resolves in the host's mount namespace: its /etc overlay, its private /run and /tmp), with
 * symlinks resolved against the host's root, not ours.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** Path `p` as the host whose init is `pid` sees it. */
function resolveInHost(pid: number, p: string): string {
  if (!p.startsWith('/')) throw new Error(`path must be absolute: ${p}`);
  const root = `/proc/${pid}/root`;
  const parts = p.split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (parts.length) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const cur = `${root}/${[...done, part].join('/')}`;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(cur);
    } catch {
      done.push(part, ...parts);
      break;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) throw new Error(`too many symlinks in ${p}`);
      const target = fs.readlinkSync(cur);
      if (target.startsWith('/')) done.length = 0;
      parts.unshift(...target.split('/').filter(Boolean));
    } else {
      done.push(part);
    }
  }
  return `${root}/${done.join('/')}`;
}

/** `what` of the file, or null when it does not exist. */
async function orNull<T>(what: () => Promise<T>): Promise<T | null> {
  try {
    return await what();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export function readHostFile(pid: number, p: string): Promise<string | null> {
  return orNull(() => fsp.readFile(resolveInHost(pid, p), 'utf8'));
}

export function hostFileMode(pid: number, p: string): Promise<number | null> {
  return orNull(async () => (await fsp.stat(resolveInHost(pid, p))).mode & 0o7777);
}

export async function writeHostFile(pid: number, p: string, content: string, mode: number): Promise<void> {
  const target = resolveInHost(pid, p);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  await fsp.writeFile(target, content, { mode });
  await fsp.chmod(target, mode);
}

export async function removeHostFile(pid: number, p: string): Promise<void> {
  await fsp.rm(resolveInHost(pid, p), { force: true });
}
