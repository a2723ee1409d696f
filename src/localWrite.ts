/**
 * Writing files on this machine (render --out, discover --write) without ever following a
 * symlink: render often runs as root over a directory others can write to, where a planted link
 * would otherwise turn a write into an overwrite of any file (or a write into the real /etc).
 *
 * - every directory below the output root is checked with lstat: a symlink is refused, a missing
 *   one is created (0755) and checked again;
 * - the new content goes to a temp file with an unpredictable name, created with
 *   O_CREAT|O_EXCL|O_NOFOLLOW (never through anything that already exists), gets its mode on the
 *   open descriptor, then is renamed over the target;
 * - a target that is a symlink (or anything but a regular file) is refused, not replaced.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, lstatSync, mkdirSync, openSync, renameSync, unlinkSync, writevSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { UserError } from './errors.js';

const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function refuseLink(path: string, root: string): never {
  throw new UserError(`${path} is a symbolic link inside ${root}; routegen never writes through links (another user could point one at any file)`, {
    hint: `remove the link (or give an output directory where every directory is a real one), then run again`,
  });
}

/**
 * A directory tree routegen writes into. `root` itself is the user's choice and may be a link;
 * everything below it must be a real directory or file.
 */
export class SafeTree {
  /** Directories below the root already checked (or created) this run. */
  private readonly checked = new Set<string>();

  constructor(readonly root: string) {}

  /** Checks the directories from just below the root down to `dir`: each must be a real
   * directory. With `create`, missing ones are made (0755); without, a missing one ends the
   * check and gives false. */
  checkDirs(dir: string, create = false): boolean {
    const rel = relative(this.root, dir);
    if (rel === '') return true;
    if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`${dir} is outside ${this.root}`); // a bug in the caller
    let cur = this.root;
    for (const part of rel.split(sep)) {
      cur = join(cur, part);
      if (this.checked.has(cur)) continue;
      let st = lstatOrNull(cur);
      if (st === null) {
        if (!create) return false;
        try {
          mkdirSync(cur, 0o755);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        st = lstatSync(cur); // what is there now, whoever made it
      }
      if (st.isSymbolicLink()) refuseLink(cur, this.root);
      if (!st.isDirectory()) throw new UserError(`${cur} exists and is not a directory`, { hint: 'move it away; routegen writes files below it' });
      this.checked.add(cur);
    }
    return true;
  }

  /** Checks that `path` (below the root) is reachable without a link; refuses a link, or
   * anything but a regular file, at `path` itself. Returns its lstat, or null when missing. */
  check(path: string): Stats | null {
    if (!this.checkDirs(dirname(path), false)) return null;
    const st = lstatOrNull(path);
    if (st === null) return null;
    if (st.isSymbolicLink()) refuseLink(path, this.root);
    if (!st.isFile()) throw new UserError(`${path} exists and is not a regular file`, { hint: 'move it away; routegen only replaces files it wrote' });
    return st;
  }

  /**
   * Replaces (or creates) `path` with `chunks` and exactly `mode`: a temp file beside it with a
   * random name, created exclusively and without following links, then renamed over it. A
   * reader never sees half a file, and the file never exists with a wider mode.
   */
  write(path: string, chunks: Uint8Array[], mode: number): void {
    if (this.checked.size === 0) mkdirSync(this.root, { recursive: true, mode: 0o755 });
    this.checkDirs(dirname(path), true);
    this.check(path);
    const tmp = join(dirname(path), `.routegen-${randomBytes(8).toString('hex')}.tmp`);
    const fd = openSync(tmp, NEW_FILE, mode & 0o600);
    try {
      try {
        const left = [...chunks];
        while (left.length) {
          let n = writevSync(fd, left);
          // A short write: drop what was written and go on with the rest.
          while (left.length && n >= left[0]!.length) n -= left.shift()!.length;
          if (n > 0) left[0] = left[0]!.subarray(n);
        }
        fchmodSync(fd, mode);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        // already renamed, or never there
      }
      throw e;
    }
  }
}

/** Replaces one file (routegen.yaml) safely: its directory is the root, the file the target.
 * It keeps the mode of the file it replaces; a new file gets 0644. */
export function writeFileSafely(path: string, content: string | Uint8Array): void {
  const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const tree = new SafeTree(dirname(path));
  const mode = (tree.check(path)?.mode ?? 0o644) & 0o7777;
  tree.write(path, [data], mode);
}
