/**
 * Files on the host over SFTP, on the same connection as the commands. A non-root user with
 * passwordless sudo writes into root-owned places through `sudo -n install`/`mv`/`rm`.
 *
 * ssh2-sftp-client does the reading, listing, removing, renaming and chmod. Its `.sftp` (ssh2's
 * own SFTPWrapper) does what it has no call for without weakening a guarantee: stat (its stat
 * reports status 4, a failure, as "no such file"), mkdir with a mode (its mkdir takes none and
 * follows no symlinked directory), and the exclusive create of temp files (open 'wx', write,
 * fchmod, close, each step's error its own).
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { SFTPWrapper, Stats } from 'ssh2';
import type SftpClient from 'ssh2-sftp-client';
import { assertRemotePath, assertSafeArgs, NOPASSWD_HINT, UnsafeCommandError, type Commands } from './commands.js';
import { RemoteError } from './errors.js';
import { MAX_REMOTE_FILE_BYTES, mib } from './limits.js';
import type { SshTarget } from './sshConfig.js';

export interface RemoteStat {
  mode: number;
  size: number;
  isDir: boolean;
}

const TMP_NAME = /^[A-Za-z0-9_.-]+$/;

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`;
}

/** SFTP errors carry the status: 2 no such file, 3 permission denied, 4 failure. */
function sftpCode(err: unknown): unknown {
  return (err as { code?: unknown }).code;
}
const isMissing = (err: unknown) => sftpCode(err) === 2 || sftpCode(err) === 'ENOENT';
const isDenied = (err: unknown) => sftpCode(err) === 3 || sftpCode(err) === 'EACCES';

/**
 * ssh2-sftp-client rewraps an SFTP error as `<method>: <server's message> <what>`, keeping the
 * status in `code`; this is the error as ssh2 gave it, so messages read as they always have.
 */
async function lib<T>(method: string, what: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    const { message, code } = err as { message?: unknown; code?: unknown };
    if (typeof message !== 'string') throw err;
    let m = message.startsWith(`${method}: `) ? message.slice(method.length + 2) : message;
    if (m.endsWith(` ${what}`)) m = m.slice(0, -what.length - 1);
    throw Object.assign(new Error(m), { code });
  }
}

/** Promise form of an ssh2 SFTPWrapper call. */
function sftpCall<T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value as T)));
  });
}

/** SFTP operations on one connection. Not queued: RemoteHost runs one operation at a time. */
export class Files {
  /** ssh2's SFTP channel under the library, for what the library has no call for. */
  private readonly sftp: SFTPWrapper;

  constructor(
    private readonly client: SftpClient,
    private readonly commands: Commands,
    private readonly target: SshTarget,
    /** Why the connection is unusable (closed or lost), once it is. */
    private readonly gone: () => string | undefined,
  ) {
    if (!client.sftp) throw new Error('Files needs an SFTP channel (getSftpChannel)');
    this.sftp = client.sftp;
  }

  /** Non-root user with working sudo: writes into root-owned directories go through sudo. */
  private get viaSudo(): boolean {
    return this.commands.sudoState === 'ok';
  }

  private error(step: string, path: string, err: unknown): RemoteError {
    const host = this.target.alias;
    const gone = this.gone();
    if (gone !== undefined) {
      return new RemoteError(`${step} ${path}: connection lost (${gone})`, { kind: 'connect', step, host, cause: err });
    }
    const message = (err as Error).message ?? String(err);
    const fields = { kind: 'sftp' as const, step, host, cause: err };
    if (isDenied(err)) {
      const hint = this.target.user === 'root'
        ? 'the host refused even root (read-only filesystem, immutable file or MAC policy?)'
        : NOPASSWD_HINT(this.target.user);
      return new RemoteError(`${step} ${path}: permission denied as ${this.target.user} (${message})`, { ...fields, hint });
    }
    return new RemoteError(`${step} ${path}: ${message}`, fields);
  }

  private statOrNull(path: string): Promise<Stats | null> {
    return sftpCall<Stats>((cb) => this.sftp.stat(path, cb)).catch((err: unknown) => {
      if (isMissing(err)) return null;
      throw err;
    });
  }

  /** The file's bytes, or null when it does not exist. Larger than MAX_REMOTE_FILE_BYTES: an error. */
  async readFile(path: string): Promise<Buffer | null> {
    const tooLarge = () => new RemoteError(`read ${path}: the file is larger than ${mib(MAX_REMOTE_FILE_BYTES)}, which no network configuration is; routegen read no further`, {
      kind: 'sftp', step: 'read', host: this.target.alias, hint: `look at ${path} on the host: something other than a network configuration is there`,
    });
    let data: Buffer;
    try {
      // At most one byte more than the limit (`end` is inclusive), to tell that it is larger.
      const got = await lib('get', path, this.client.get(path, undefined, { readStreamOptions: { start: 0, end: MAX_REMOTE_FILE_BYTES } }));
      data = Buffer.isBuffer(got) ? got : Buffer.alloc(0);
    } catch (err) {
      if (isMissing(err)) return null;
      if (isDenied(err) && this.viaSudo) {
        assertRemotePath(path);
        assertSafeArgs([path]);
        const r = await this.commands.execRaw(`sudo -n cat -- ${path}`, undefined, this.commands.timeoutMs, 'read');
        if (r.code === 0 && r.stdoutBuf.length > MAX_REMOTE_FILE_BYTES) throw tooLarge();
        if (r.code === 0) return r.stdoutBuf;
        if (/No such file/.test(r.stderr)) return null;
        throw this.commands.commandError('read', ['cat', path], r, true);
      }
      throw this.error('read', path, err);
    }
    if (data.length > MAX_REMOTE_FILE_BYTES) throw tooLarge();
    return data;
  }

  /** Permission bits (`mode & 0o7777`), size, and whether it is a directory; null when missing. */
  async stat(path: string): Promise<RemoteStat | null> {
    try {
      const s = await this.statOrNull(path);
      return s && { mode: s.mode & 0o7777, size: s.size, isDir: s.isDirectory() };
    } catch (err) {
      throw this.error('stat', path, err);
    }
  }

  /** See RemoteHost.writeFileAtomic. */
  async writeFileAtomic(path: string, content: string | Buffer, mode: number, tmpName = `.routegen-${randomBytes(6).toString('hex')}.tmp`): Promise<void> {
    assertRemotePath(path);
    if (!TMP_NAME.test(tmpName) || tmpName === '.' || tmpName === '..') throw new UnsafeCommandError(`bad temp file name ${JSON.stringify(tmpName)}`);
    const tmp = posix.join(posix.dirname(path), tmpName);
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    return this.viaSudo ? this.writeViaSudo(path, tmp, tmpName, data, mode) : this.writeDirect(path, tmp, data, mode);
  }

  private async writeDirect(path: string, tmp: string, data: Buffer, mode: number): Promise<void> {
    await this.createFile(tmp, data, mode);
    try {
      await lib('_posixRename', `From: ${tmp} To: ${path}`, this.client.posixRename(tmp, path));
    } catch (err) {
      await this.unlinkQuietly(tmp);
      throw this.error('write (rename)', path, err);
    }
  }

  /** Why a write into path's directory failed, from statvfs@openssh.com: read-only, or full. */
  private async explainFailure(path: string, size: number): Promise<string | undefined> {
    try {
      const st = await sftpCall<{ f_flag: number; f_bavail: number; f_frsize: number; f_bsize: number }>((cb) =>
        (this.sftp as unknown as { ext_openssh_statvfs(p: string, cb: (e: Error | undefined, v: unknown) => void): void }).ext_openssh_statvfs(posix.dirname(path), cb as never),
      );
      if (st.f_flag & 1) return ': read-only file system';
      const free = st.f_bavail * (st.f_frsize || st.f_bsize);
      if (free < size + 4096) return `: no space left on the device (${free} bytes free)`;
    } catch {
      // no statvfs extension: nothing to add
    }
    return undefined;
  }

  /**
   * Creates `path` with O_CREAT|O_EXCL (never through an existing file or symlink), writes
   * `data` and sets `mode` on the open handle, so the file has its final mode before anyone
   * can rename it into place. On failure after creating it, removes it; a file that already
   * existed under that name is left alone.
   */
  private async createFile(path: string, data: Buffer, mode: number): Promise<void> {
    const w = this.sftp;
    let handle: Buffer;
    try {
      // The mode given at open is only ever narrowed by the server's umask; fchmod sets it exactly.
      handle = await sftpCall<Buffer>((cb) => w.open(path, 'wx', { mode: mode & 0o7777 }, cb));
    } catch (err) {
      // SFTP v3 reports EROFS, ENOSPC and EEXIST alike as a bare "Failure" (status 4).
      const why = sftpCode(err) === 4 ? (await this.explainFailure(path, data.length)) ?? ' (does a file with that name already exist?)' : '';
      throw this.error(`write (create temp${why})`, path, err);
    }
    let step = 'upload';
    try {
      await sftpCall<number>((cb) => w.write(handle, data, 0, data.length, 0, cb));
      step = 'chmod';
      await sftpCall<void>((cb) => w.fchmod(handle, mode & 0o7777, cb));
    } catch (err) {
      await sftpCall<void>((cb) => w.close(handle, cb)).catch(() => undefined);
      await this.unlinkQuietly(path);
      const why = sftpCode(err) === 4 ? ((await this.explainFailure(path, data.length)) ?? '') : '';
      throw this.error(`write (${step}${why})`, path, err);
    }
    try {
      await sftpCall<void>((cb) => w.close(handle, cb));
    } catch (err) {
      await this.unlinkQuietly(path);
      throw this.error('write (close)', path, err);
    }
  }

  private async unlinkQuietly(path: string): Promise<void> {
    await this.client.delete(path, true).catch(() => undefined);
  }

  private async writeViaSudo(path: string, tmp: string, tmpName: string, data: Buffer, mode: number): Promise<void> {
    assertSafeArgs([path, tmp]);
    const home = await this.client.realPath('.').catch(() => '');
    const staged = posix.join(home.startsWith('/') ? home : '/tmp', tmpName);
    assertSafeArgs([staged]);
    await this.createFile(staged, data, 0o600);
    try {
      await this.commands.runChecked('write (install)', ['install', '-m', octal(mode), '-o', 'root', '-g', 'root', staged, tmp], true);
      await this.commands.runChecked('write (rename)', ['mv', '-f', tmp, path], true);
    } catch (err) {
      await this.commands.execRaw(`sudo -n rm -f ${tmp}`, undefined, this.commands.timeoutMs, 'cleanup').catch(() => undefined);
      throw err;
    } finally {
      await this.unlinkQuietly(staged);
    }
  }

  /** posix-rename@openssh.com: atomically replaces `to`. */
  async rename(from: string, to: string): Promise<void> {
    if (this.viaSudo) {
      assertRemotePath(from);
      assertRemotePath(to);
      await this.commands.runChecked('rename', ['mv', '-f', from, to], true);
      return;
    }
    try {
      await lib('_posixRename', `From: ${from} To: ${to}`, this.client.posixRename(from, to));
    } catch (err) {
      throw this.error('rename', `${from} -> ${to}`, err);
    }
  }

  /** Removes a file; no error when it does not exist. */
  async remove(path: string): Promise<void> {
    if (this.viaSudo) {
      assertRemotePath(path);
      await this.commands.runChecked('remove', ['rm', '-f', path], true);
      return;
    }
    try {
      await lib('delete', path, this.client.delete(path, true)); // a missing file is no error
    } catch (err) {
      throw this.error('remove', path, err);
    }
  }

  /** `mkdir -p`; directories it creates get `mode`. */
  async mkdirp(path: string, mode: number): Promise<void> {
    assertRemotePath(path);
    if (this.viaSudo) {
      await this.commands.runChecked('mkdir', ['mkdir', '-p', '-m', octal(mode), path], true);
      return;
    }
    let cur = '';
    for (const part of path.split('/').filter((p) => p !== '')) {
      cur += `/${part}`;
      const isDir = async () => (await this.statOrNull(cur).catch(() => null))?.isDirectory();
      const st = await this.statOrNull(cur).catch((err: unknown) => {
        throw this.error('mkdir', cur, err);
      });
      if (st?.isDirectory()) continue;
      if (st) throw this.error('mkdir', cur, Object.assign(new Error('exists and is not a directory'), { code: 4 }));
      try {
        await sftpCall<void>((cb) => this.sftp.mkdir(cur, { mode }, cb));
        // mkdir's mode is narrowed by the server's umask; set it exactly.
        await lib('_chmod', cur, this.client.chmod(cur, mode));
      } catch (err) {
        if (await isDir()) continue; // created meanwhile
        throw this.error('mkdir', cur, err);
      }
    }
  }

  /** Names in a directory (no `.`/`..`), sorted. */
  async list(dir: string): Promise<string[]> {
    try {
      const entries = await lib('list', dir, this.client.list(dir));
      return entries.map((e) => e.name).filter((n) => n !== '.' && n !== '..').sort();
    } catch (err) {
      throw this.error('list', dir, err);
    }
  }
}
