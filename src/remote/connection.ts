/**
 * One SSH connection per host, shared by SFTP and remote commands. The only module that
 * touches ssh2 / ssh2-sftp-client: everything else sees RemoteHost and RemoteError.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat as fsStat } from 'node:fs/promises';
import { posix } from 'node:path';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, Client, ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { RemoteError, sudoHint, type RemoteErrorKind } from './errors.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  hostKeyAlgorithmsFor,
  hostKeyName,
  keyTypeOfBlob,
  knownKeyTypes,
  type HostKeyCheck,
  type KnownHostsFile,
} from './knownHosts.js';
import { MAX_COMMAND_OUTPUT_BYTES, MAX_REMOTE_FILE_BYTES, mib, readCapped, TooLargeError } from './limits.js';
import type { SshTarget } from './sshConfig.js';

export { RemoteError } from './errors.js';
export type { RemoteErrorKind } from './errors.js';

export interface ConnectOptions {
  target: SshTarget;
  /** Record and trust an unknown host key (OpenSSH's accept-new). Never a changed one. */
  acceptNew?: boolean;
  /** TCP connect + handshake + auth + SFTP start. Default: the target's ConnectTimeout, else 10000. */
  connectTimeoutMs?: number;
  /** Per remote command. Default 60000. */
  commandTimeoutMs?: number;
  /** ssh-agent socket. Default: the target's IdentityAgent, else SSH_AUTH_SOCK. */
  agentSocket?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Run as root: `sudo -n` in front when the login user is not root. */
  sudo?: boolean;
  /** Written to the command's stdin, which is then closed (it is closed at once without). */
  input?: string | Buffer;
  timeoutMs?: number;
}

interface RawResult extends ExecResult {
  stdoutBuf: Buffer;
  elapsedMs: number;
}

export interface RemoteStat {
  mode: number;
  size: number;
  isDir: boolean;
}

/** Arguments that mean the same to every POSIX shell without quoting. */
const SAFE_ARG = /^[A-Za-z0-9_@%+=:,./-]+$/;
const TMP_NAME = /^[A-Za-z0-9_.-]+$/;
/** Host key algorithms ssh2 1.17 can verify. */
const SSH2_HOST_KEY_ALGOS = new Set([
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
  'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-dss',
]);
/** `timeout -k`: seconds between TERM and KILL for a command over its time. */
const TIMEOUT_KILL_AFTER_S = 5;
const SUDO_PASSWORD = /a password is required|a terminal is required|no tty present/i;
const NOPASSWD_HINT = sudoHint;

/** Programming errors: an argument routegen itself built is unsafe for a remote shell. */
export class UnsafeCommandError extends Error {
  override name = 'UnsafeCommandError';
}

function assertSafeArgs(argv: string[]): void {
  if (argv.length === 0) throw new UnsafeCommandError('empty command');
  for (const a of argv) {
    if (!SAFE_ARG.test(a)) {
      throw new UnsafeCommandError(`unsafe argument for a remote command: ${JSON.stringify(a)} (allowed: ${SAFE_ARG.source})`);
    }
  }
}

function assertRemotePath(path: string): void {
  if (!path.startsWith('/') || path.includes('\0') || path.split('/').includes('..')) {
    throw new UnsafeCommandError(`remote paths must be absolute, without "..": ${JSON.stringify(path)}`);
  }
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`;
}

/** ssh-sftp-client errors carry the SFTP status: 2 no such file, 3 permission denied. */
function sftpCode(err: unknown): unknown {
  return (err as { code?: unknown }).code;
}
const isMissing = (err: unknown) => sftpCode(err) === 2 || sftpCode(err) === 'ENOENT';
const isDenied = (err: unknown) => sftpCode(err) === 3 || sftpCode(err) === 'EACCES';

/** Promise form of an ssh2 SFTPWrapper call. */
function sftpCall<T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value as T)));
  });
}

async function readKnownHostsFiles(target: SshTarget): Promise<KnownHostsFile[]> {
  const files: KnownHostsFile[] = [];
  for (const path of target.knownHostsFiles) {
    try {
      files.push({ path, text: await readFile(path, 'utf8') });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new RemoteError(`cannot read ${path}: ${(err as Error).message}`, {
        kind: 'hostkey', step: 'read known_hosts', host: target.alias, cause: err,
      });
    }
  }
  return files;
}

interface AuthPlan {
  methods: AnyAuthMethod[];
  tried: string[];
  encrypted: string[];
  unusable: string[];
}

async function isSocket(path: string): Promise<boolean> {
  try {
    return (await fsStat(path)).isSocket();
  } catch {
    return false;
  }
}

/** OpenSSH's order: agent keys first, then identity files. Passphrases are never asked for. */
async function planAuth(target: SshTarget, agentSocket: string | undefined): Promise<AuthPlan> {
  const plan: AuthPlan = { methods: [], tried: [], encrypted: [], unusable: [] };
  const username = target.user;
  if (agentSocket !== undefined && agentSocket !== 'none' && agentSocket !== '' && (await isSocket(agentSocket))) {
    plan.methods.push({ type: 'agent', username, agent: agentSocket });
    plan.tried.push(`ssh-agent (${agentSocket})`);
  }
  for (const file of target.identityFiles) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch {
      continue; // OpenSSH silently skips identity files that do not exist
    }
    const parsed = ssh2.utils.parseKey(data);
    if (parsed instanceof Error) {
      if (/encrypted|passphrase/i.test(parsed.message)) plan.encrypted.push(file);
      else plan.unusable.push(`${file} (${parsed.message})`);
      continue;
    }
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || !key.isPrivateKey()) {
      plan.unusable.push(`${file} (not a private key)`);
      continue;
    }
    plan.methods.push({ type: 'publickey', username, key });
    plan.tried.push(file);
  }
  return plan;
}

function authProblem(target: SshTarget, plan: AuthPlan, agentSocket: string | undefined): { message: string; hint: string } {
  const parts: string[] = [];
  if (plan.tried.length > 0) parts.push(`tried ${plan.tried.join(', ')}`);
  if (plan.encrypted.length > 0) parts.push(`skipped encrypted key${plan.encrypted.length > 1 ? 's' : ''} ${plan.encrypted.join(', ')} (routegen never asks for a passphrase)`);
  if (plan.unusable.length > 0) parts.push(`could not use ${plan.unusable.join(', ')}`);
  if (plan.tried.length === 0 && plan.encrypted.length === 0 && plan.unusable.length === 0) {
    parts.push(`no identity file found (looked for ${target.identityFiles.join(', ') || 'none'})`);
  }
  const hasAgent = plan.methods.some((m) => m.type === 'agent');
  if (!hasAgent) {
    if (agentSocket === undefined) parts.push('no ssh-agent (SSH_AUTH_SOCK unset)');
    else if (agentSocket === '' || agentSocket === 'none') parts.push('ssh-agent not used');
    else parts.push(`ssh-agent socket ${agentSocket} is not usable`);
  }
  let hint: string;
  if (plan.encrypted.length > 0 && !hasAgent) {
    hint = `start ssh-agent and run \`ssh-add ${plan.encrypted[0]}\`, or use an unencrypted deploy key (IdentityFile / --identity)`;
  } else if (plan.methods.length === 0) {
    hint = 'give routegen a key: IdentityFile in ~/.ssh/config, --identity, or a running ssh-agent';
  } else {
    hint = `add one of these public keys to ~${target.user}/.ssh/authorized_keys on ${target.hostname}; \`ssh ${target.alias} true\` should then log in without a prompt`;
  }
  return { message: parts.join('; '), hint };
}

/** A RemoteError for the host key verdict, with what the user can do about it. */
function hostKeyError(target: SshTarget, name: string, keyType: string, keyB64: string, check: HostKeyCheck, files: KnownHostsFile[]): RemoteError {
  const fp = fingerprintSha256(keyB64);
  const host = target.alias;
  const step = 'verify host key';
  switch (check.verdict) {
    case 'revoked':
      return new RemoteError(`host key ${keyType} ${fp} of ${name} is REVOKED (${check.matchedAt}); refusing to connect`, {
        kind: 'hostkey', step, host, hint: 'the host presents a key marked @revoked: investigate before removing the @revoked line',
      });
    case 'cert-authority':
      return new RemoteError(`${name} is known only through a host certificate authority (@cert-authority at ${check.matchedAt}), and routegen cannot verify host certificates; refusing to connect (--accept-new does not apply)`, {
        kind: 'hostkey', step, host,
        hint: `record the host's own key beside the @cert-authority line, checked out of band: on the host \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` must show ${fp}`,
      });
    case 'mismatch': {
      const old = check.knownKeyBase64 ? fingerprintSha256(check.knownKeyBase64) : '?';
      return new RemoteError(
        `HOST KEY CHANGED for ${name}: server presented ${keyType} ${fp}, known_hosts has ${check.knownTypes.join(', ')} ${old} at ${check.matchedAt}; refusing to connect`,
        {
          kind: 'hostkey', step, host,
          hint: `someone may be intercepting the connection, or the host was reinstalled. If you have verified the new key out of band, remove the old one (\`ssh-keygen -R '${name}'${check.matchedAt ? ` -f ${check.matchedAt.replace(/:\d+$/, '')}` : ''}\`) and connect again${target.strictHostKeyChecking === 'no' ? ' (StrictHostKeyChecking no lets ssh go on with a changed key; routegen never does)' : ''}`,
        },
      );
    }
    default: {
      const where = files.length > 0 ? files.map((f) => f.path).join(', ') : target.knownHostsFiles.join(', ') || 'no known_hosts file';
      return new RemoteError(`host key of ${name} is not known (${keyType} ${fp}; looked in ${where}); refusing to connect`, {
        kind: 'hostkey', step, host,
        hint: `compare ${fp} with the host's own key (on the host: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then ssh to it once to record it, or run routegen with --accept-new`,
      });
    }
  }
}

/** A small FIFO: one SFTP/exec operation at a time, as ssh2-sftp-client requires. */
class Queue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => undefined);
    return p;
  }
}

type SudoState = 'root' | 'ok' | 'password' | 'missing' | 'failed';

export class RemoteHost {
  readonly user: string;
  readonly target: SshTarget;
  /** When the key was unknown and accepted: where it was recorded. */
  readonly acceptedKey?: { file: string; fingerprint: string };

  private readonly queue = new Queue();
  private hasTimeoutBinary = true;
  private closed = false;
  private lostReason: string | undefined;

  private constructor(
    private readonly sftp: SftpClient,
    private readonly wrapper: SFTPWrapper,
    private readonly commandTimeoutMs: number,
    private sudoState: SudoState,
    target: SshTarget,
    accepted: { file: string; fingerprint: string } | undefined,
  ) {
    this.target = target;
    this.user = target.user;
    if (accepted) this.acceptedKey = accepted;
  }

  /** root, or a user for whom `sudo -n true` works. */
  get privileged(): boolean {
    return this.sudoState === 'root' || this.sudoState === 'ok';
  }

  private get client(): Client {
    // ssh2-sftp-client keeps the ssh2 Client at .client (missing from @types 9.0).
    return (this.sftp as unknown as { client: Client }).client;
  }

  /** Non-root user with working sudo: writes into root-owned directories go through sudo. */
  private get viaSudo(): boolean {
    return this.sudoState === 'ok';
  }

  /**
   * Connects, checks the host key against the target's known_hosts files, authenticates
   * (agent, then unencrypted identity files) and starts SFTP, all on one connection.
   */
  static async connect(opts: ConnectOptions): Promise<RemoteHost> {
    const { target } = opts;
    const host = target.alias;
    const connectTimeoutMs = opts.connectTimeoutMs ?? target.connectTimeoutMs ?? 10_000;
    const files = await readKnownHostsFiles(target);
    const name = target.hostKeyAlias ?? hostKeyName(target.hostname, target.port);
    const knownTypes = knownKeyTypes(files, name);
    const algos = hostKeyAlgorithmsFor(knownTypes).filter((a) => SSH2_HOST_KEY_ALGOS.has(a));
    if (knownTypes.length > 0 && algos.length === 0) {
      throw new RemoteError(`known_hosts lists only ${knownTypes.join(', ')} keys for ${name}, which routegen cannot verify`, {
        kind: 'hostkey', step: 'verify host key', host,
        hint: 'record an ed25519, ecdsa or rsa host key for it (ssh-keyscan -t ed25519, checked out of band)',
      });
    }
    const mayAcceptNew = opts.acceptNew === true || target.strictHostKeyChecking === 'accept-new' || target.strictHostKeyChecking === 'no';
    const agentSocket = opts.agentSocket ?? target.identityAgent ?? process.env.SSH_AUTH_SOCK;
    const auth = await planAuth(target, agentSocket);
    if (auth.methods.length === 0) {
      const { message, hint } = authProblem(target, auth, agentSocket);
      throw new RemoteError(`no usable SSH credentials for ${target.user}@${target.hostname}: ${message}`, { kind: 'auth', step: 'authenticate', host, hint });
    }

    let refused: RemoteError | undefined;
    let accepted: { file: string; fingerprint: string } | undefined;
    let rawError: (Error & { level?: string }) | undefined;
    const hostVerifier = (key: Buffer, verify: (ok: boolean) => void): void => {
      const keyType = keyTypeOfBlob(key) ?? 'unknown';
      const keyB64 = key.toString('base64');
      const check = checkHostKey(files, name, keyType, keyB64);
      if (check.verdict === 'match') return verify(true);
      if (check.verdict !== 'unknown' || !mayAcceptNew) {
        refused = hostKeyError(target, name, keyType, keyB64, check, files);
        return verify(false);
      }
      const file = target.knownHostsFiles[0];
      if (file === undefined) {
        refused = new RemoteError(`cannot accept the new host key of ${name}: no UserKnownHostsFile to record it in`, { kind: 'hostkey', step: 'verify host key', host });
        return verify(false);
      }
      // Like ssh's accept-new: recorded as soon as the key is seen, before authentication.
      appendKnownHost(file, name, keyType, keyB64, { hash: target.hashKnownHosts }).then(
        () => {
          accepted = { file, fingerprint: fingerprintSha256(keyB64) };
          verify(true);
        },
        (err: Error) => {
          refused = new RemoteError(`cannot record the host key of ${name} in ${file}: ${err.message}`, { kind: 'hostkey', step: 'verify host key', host, cause: err });
          verify(false);
        },
      );
    };

    const sftp = new SftpClient(`routegen:${host}`, {
      // The library's defaults print to the console; RemoteHost reports through its methods.
      error: () => undefined,
      end: () => undefined,
      close: () => undefined,
    });
    const client = (sftp as unknown as { client: Client }).client;
    client.on('error', (err: Error & { level?: string }) => {
      rawError ??= err;
    });
    // SSH is request/response in small packets: without TCP_NODELAY a write that follows an
    // unacknowledged one waits for the peer's delayed ACK (40 ms on Linux).
    client.on('connect', () => client.setNoDelay(true));

    const config: ConnectConfig = {
      host: target.hostname,
      port: target.port,
      username: target.user,
      readyTimeout: connectTimeoutMs,
      hostVerifier,
      authHandler: auth.methods,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      ...(algos.length > 0 && { algorithms: { serverHostKey: algos as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } }),
    };

    let timer: NodeJS.Timeout | undefined;
    let wrapper: SFTPWrapper;
    try {
      // readyTimeout covers TCP + handshake + auth; this also bounds starting SFTP.
      const overall = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('connect timed out'), { level: 'client-timeout' })), connectTimeoutMs + 1000);
      });
      wrapper = await Promise.race([sftp.connect(config), overall]);
    } catch (err) {
      client.end();
      const cause = rawError ?? (err as Error & { level?: string });
      if (refused) throw refused;
      throw RemoteHost.connectError(target, cause, auth, agentSocket, connectTimeoutMs, knownTypes, name);
    } finally {
      clearTimeout(timer);
    }

    const sudoState: SudoState = target.user === 'root' ? 'root' : 'failed';
    const remote = new RemoteHost(sftp, wrapper, opts.commandTimeoutMs ?? 60_000, sudoState, target, accepted);
    client.on('close', () => {
      remote.lostReason ??= 'connection closed';
    });
    client.on('error', (err: Error) => {
      remote.lostReason ??= err.message;
    });
    if (target.user !== 'root') remote.sudoState = await remote.probeSudo();
    return remote;
  }

  private static connectError(
    target: SshTarget,
    err: Error & { level?: string; code?: unknown },
    auth: AuthPlan,
    agentSocket: string | undefined,
    timeoutMs: number,
    knownTypes: string[],
    name: string,
  ): RemoteError {
    const host = target.alias;
    const where = `${target.user}@${target.hostname}:${target.port}`;
    if (err.level === 'client-authentication') {
      const { message, hint } = authProblem(target, auth, agentSocket);
      return new RemoteError(`authentication as ${where} failed: ${message}`, { kind: 'auth', step: 'authenticate', host, hint, cause: err });
    }
    if (err.level === 'agent') {
      // ssh2 would go on to the identity files, but ssh2-sftp-client aborts on any client error.
      return new RemoteError(`ssh-agent at ${agentSocket} failed: ${err.message}`, {
        kind: 'auth', step: 'authenticate', host, hint: 'start the agent again, or unset SSH_AUTH_SOCK to use identity files only', cause: err,
      });
    }
    if (err.level === 'client-timeout') {
      return new RemoteError(`connecting to ${where} timed out after ${timeoutMs} ms`, {
        kind: 'timeout', step: 'connect', host, hint: 'is the host up and port reachable? (ConnectTimeout / --connect-timeout)', cause: err,
      });
    }
    if (/no matching host key/i.test(err.message) && knownTypes.length > 0) {
      return new RemoteError(`${name} offers none of the host key types known_hosts lists for it (${knownTypes.join(', ')}): its host key may have changed; refusing to connect`, {
        kind: 'hostkey', step: 'verify host key', host,
        hint: `check the host's keys out of band (ssh-keyscan -p ${target.port} ${target.hostname}) before changing known_hosts`, cause: err,
      });
    }
    const code = typeof err.code === 'string' ? err.code : '';
    const hints: Record<string, string> = {
      ECONNREFUSED: 'nothing listens on that port: is sshd running, and is the port right?',
      ENOTFOUND: 'the name does not resolve: check HostName / machines.txt',
      EAI_AGAIN: 'the name does not resolve (DNS unavailable?)',
      EHOSTUNREACH: 'no route to the host',
      ENETUNREACH: 'no route to the host\'s network',
      ETIMEDOUT: 'the host did not answer',
    };
    const message = err.message.replace(/^getConnection: /, '');
    return new RemoteError(`cannot connect to ${where}: ${message}`, {
      kind: 'connect', step: 'connect', host, cause: err, ...(hints[code] !== undefined && { hint: hints[code] }),
    });
  }

  private async probeSudo(): Promise<SudoState> {
    const r = await this.execRaw('sudo -n true', undefined, this.commandTimeoutMs, 'probe sudo');
    if (r.code === 0) return 'ok';
    if (r.code === 127) return 'missing';
    return SUDO_PASSWORD.test(r.stderr) ? 'password' : 'failed';
  }

  private sftpError(step: string, path: string, err: unknown): RemoteError {
    const host = this.target.alias;
    if (this.closed || this.lostReason !== undefined) {
      return new RemoteError(`${step} ${path}: connection lost (${this.lostReason ?? 'closed'})`, { kind: 'connect', step, host, cause: err });
    }
    const raw = (err as Error).message ?? String(err);
    const message = raw.replace(/^[A-Za-z_]+(->[A-Za-z_]+)?: /, '').replace(/^(Write stream error|Re-thrown): /, '');
    const fields = { kind: 'sftp' as RemoteErrorKind, step, host, cause: err };
    if (isDenied(err)) {
      const hint = this.target.user === 'root'
        ? 'the host refused even root (read-only filesystem, immutable file or MAC policy?)'
        : NOPASSWD_HINT(this.target.user);
      return new RemoteError(`${step} ${path}: permission denied as ${this.target.user} (${message})`, { ...fields, hint });
    }
    return new RemoteError(`${step} ${path}: ${message}`, fields);
  }

  private ensureOpen(step: string): void {
    if (this.closed) throw new RemoteError(`${step}: connection to ${this.target.alias} is closed`, { kind: 'connect', step, host: this.target.alias });
  }

  private op<T>(step: string, fn: () => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      this.ensureOpen(step);
      return fn();
    });
  }

  private requireSudo(step: string): void {
    const user = this.target.user;
    const host = this.target.alias;
    switch (this.sudoState) {
      case 'root': case 'ok': return;
      case 'password':
        throw new RemoteError(`${step}: sudo on ${host} asks ${user} for a password`, { kind: 'sudo', step, host, hint: NOPASSWD_HINT(user) });
      case 'missing':
        throw new RemoteError(`${step}: ${user} is not root and sudo is not installed on ${host}`, { kind: 'sudo', step, host, hint: 'connect as root, or install sudo with a NOPASSWD rule' });
      default:
        throw new RemoteError(`${step}: ${user} is not root and \`sudo -n true\` failed on ${host}`, { kind: 'sudo', step, host, hint: NOPASSWD_HINT(user) });
    }
  }

  /** The file's bytes, or null when it does not exist. Larger than MAX_REMOTE_FILE_BYTES: an error. */
  readFile(path: string): Promise<Buffer | null> {
    const tooLarge = () => new RemoteError(`read ${path}: the file is larger than ${mib(MAX_REMOTE_FILE_BYTES)}, which no network configuration is; routegen read no further`, {
      kind: 'sftp', step: 'read', host: this.target.alias, hint: `look at ${path} on the host: something other than a network configuration is there`,
    });
    return this.op('read', async () => {
      try {
        return await readCapped(this.wrapper, path, MAX_REMOTE_FILE_BYTES);
      } catch (err) {
        if (err instanceof TooLargeError) throw tooLarge();
        if (isMissing(err)) return null;
        if (isDenied(err) && this.viaSudo) {
          assertRemotePath(path);
          assertSafeArgs([path]);
          const r = await this.execRaw(`sudo -n cat -- ${path}`, undefined, this.commandTimeoutMs, 'read');
          if (r.code === 0 && r.stdoutBuf.length > MAX_REMOTE_FILE_BYTES) throw tooLarge();
          if (r.code === 0) return r.stdoutBuf;
          if (/No such file/.test(r.stderr)) return null;
          throw this.commandError('read', ['cat', path], r, true);
        }
        throw this.sftpError('read', path, err);
      }
    });
  }

  /** Permission bits (`mode & 0o7777`), size, and whether it is a directory; null when missing. */
  stat(path: string): Promise<RemoteStat | null> {
    return this.op('stat', async () => {
      try {
        const s = await this.sftp.stat(path);
        return { mode: s.mode & 0o7777, size: s.size, isDir: s.isDirectory };
      } catch (err) {
        if (isMissing(err)) return null;
        throw this.sftpError('stat', path, err);
      }
    });
  }

  /**
   * Replaces `path` so that no reader ever sees a partial file: writes a temp file in the same
   * directory (created exclusively, never through an existing file or link), sets its mode
   * while it is still hidden, then renames it over the target. The temp is removed on failure.
   * A non-root user with passwordless sudo: uploads into their home first, then
   * `sudo -n install -m MODE -o root -g root` to the temp name and `sudo -n mv -f` over the target.
   */
  async writeFileAtomic(path: string, content: string | Buffer, mode: number, opts: { tmpName?: string } = {}): Promise<void> {
    assertRemotePath(path);
    const tmpName = opts.tmpName ?? `.routegen-${randomBytes(6).toString('hex')}.tmp`;
    if (!TMP_NAME.test(tmpName) || tmpName === '.' || tmpName === '..') throw new UnsafeCommandError(`bad temp file name ${JSON.stringify(tmpName)}`);
    const tmp = posix.join(posix.dirname(path), tmpName);
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    return this.op('write', () => (this.viaSudo ? this.writeViaSudo(path, tmp, tmpName, data, mode) : this.writeDirect(path, tmp, data, mode)));
  }

  private async writeDirect(path: string, tmp: string, data: Buffer, mode: number): Promise<void> {
    await this.createFile(tmp, data, mode);
    try {
      await sftpCall<void>((cb) => this.wrapper.ext_openssh_rename(tmp, path, cb));
    } catch (err) {
      await this.unlinkQuietly(tmp);
      throw this.sftpError('write (rename)', path, err);
    }
  }

  /**
   * Creates `path` with O_CREAT|O_EXCL (never through an existing file or symlink), writes
   * `data` and sets `mode` on the open handle, so the file has its final mode before anyone
   * can rename it into place. On failure after creating it, removes it; a file that already
   * existed under that name is left alone.
   */
  /** Why a write into path's directory failed, from statvfs@openssh.com: read-only, or full. */
  private async explainFailure(path: string, size: number): Promise<string | undefined> {
    try {
      const st = await sftpCall<{ f_flag: number; f_bavail: number; f_frsize: number; f_bsize: number }>((cb) =>
        (this.wrapper as unknown as { ext_openssh_statvfs(p: string, cb: (e: Error | undefined, v: unknown) => void): void }).ext_openssh_statvfs(posix.dirname(path), cb as never),
      );
      if (st.f_flag & 1) return ': read-only file system';
      const free = st.f_bavail * (st.f_frsize || st.f_bsize);
      if (free < size + 4096) return `: no space left on the device (${free} bytes free)`;
    } catch {
      // no statvfs extension: nothing to add
    }
    return undefined;
  }

  private async createFile(path: string, data: Buffer, mode: number): Promise<void> {
    const w = this.wrapper;
    let handle: Buffer;
    try {
      // The mode given at open is only ever narrowed by the server's umask; fchmod sets it exactly.
      handle = await sftpCall<Buffer>((cb) => w.open(path, 'wx', { mode: mode & 0o7777 }, cb));
    } catch (err) {
      // SFTP v3 reports EROFS, ENOSPC and EEXIST alike as a bare "Failure" (status 4).
      const why = sftpCode(err) === 4 ? (await this.explainFailure(path, data.length)) ?? ' (does a file with that name already exist?)' : '';
      throw this.sftpError(`write (create temp${why})`, path, err);
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
      throw this.sftpError(`write (${step}${why})`, path, err);
    }
    try {
      await sftpCall<void>((cb) => w.close(handle, cb));
    } catch (err) {
      await this.unlinkQuietly(path);
      throw this.sftpError('write (close)', path, err);
    }
  }

  private unlinkQuietly(path: string): Promise<void> {
    return sftpCall<void>((cb) => this.wrapper.unlink(path, cb)).catch(() => undefined);
  }

  private async writeViaSudo(path: string, tmp: string, tmpName: string, data: Buffer, mode: number): Promise<void> {
    assertSafeArgs([path, tmp]);
    const home = await this.sftp.realPath('.');
    const staged = posix.join(home && home.startsWith('/') ? home : '/tmp', tmpName);
    assertSafeArgs([staged]);
    await this.createFile(staged, data, 0o600);
    try {
      await this.runChecked('write (install)', ['install', '-m', octal(mode), '-o', 'root', '-g', 'root', staged, tmp], true);
      await this.runChecked('write (rename)', ['mv', '-f', tmp, path], true);
    } catch (err) {
      await this.execRaw(`sudo -n rm -f ${tmp}`, undefined, this.commandTimeoutMs, 'cleanup').catch(() => undefined);
      throw err;
    } finally {
      await this.unlinkQuietly(staged);
    }
  }

  /** posix-rename@openssh.com: atomically replaces `to`. */
  rename(from: string, to: string): Promise<void> {
    return this.op('rename', async () => {
      if (this.viaSudo) {
        assertRemotePath(from);
        assertRemotePath(to);
        await this.runChecked('rename', ['mv', '-f', from, to], true);
        return;
      }
      try {
        await this.sftp.posixRename(from, to);
      } catch (err) {
        throw this.sftpError('rename', `${from} -> ${to}`, err);
      }
    });
  }

  /** Removes a file; no error when it does not exist. */
  remove(path: string): Promise<void> {
    return this.op('remove', async () => {
      if (this.viaSudo) {
        assertRemotePath(path);
        await this.runChecked('remove', ['rm', '-f', path], true);
        return;
      }
      try {
        await this.sftp.delete(path, true);
      } catch (err) {
        if (isMissing(err)) return;
        throw this.sftpError('remove', path, err);
      }
    });
  }

  /** `mkdir -p`; directories it creates get `mode` (default 0755). */
  async mkdirp(path: string, mode = 0o755): Promise<void> {
    assertRemotePath(path);
    return this.op('mkdir', async () => {
      if (this.viaSudo) {
        await this.runChecked('mkdir', ['mkdir', '-p', '-m', octal(mode), path], true);
        return;
      }
      const parts = path.split('/').filter((p) => p !== '');
      let cur = '';
      for (const part of parts) {
        cur += `/${part}`;
        const exists = await this.sftp.exists(cur);
        if (exists === 'd') continue;
        if (exists) throw this.sftpError('mkdir', cur, Object.assign(new Error('exists and is not a directory'), { code: 4 }));
        try {
          await new Promise<void>((resolve, reject) => this.wrapper.mkdir(cur, { mode }, (err) => (err ? reject(err) : resolve())));
          // mkdir's mode is narrowed by the server's umask; set it exactly.
          await this.sftp.chmod(cur, mode);
        } catch (err) {
          if ((await this.sftp.exists(cur)) === 'd') continue; // created meanwhile
          throw this.sftpError('mkdir', cur, err);
        }
      }
    });
  }

  /** Names in a directory (no `.`/`..`), sorted. */
  list(dir: string): Promise<string[]> {
    return this.op('list', async () => {
      try {
        const entries = await this.sftp.list(dir);
        return entries.map((e) => e.name).filter((n) => n !== '.' && n !== '..').sort();
      } catch (err) {
        throw this.sftpError('list', dir, err);
      }
    });
  }

  /**
   * Runs a command on the same connection. Every argument must match SAFE_ARG (the remote side
   * is a shell; nothing is quoted), else UnsafeCommandError. A non-zero exit is a result, not
   * an error; a timeout is RemoteError kind 'timeout'; sudo asking for a password, kind 'sudo'.
   */
  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    assertSafeArgs(argv);
    return this.op('exec', () => this.runCommand(argv.join(' '), argv[0]!, opts));
  }

  /**
   * `sh -c '<script>' routegen <args...>`: `script` is a constant from routegen's own code
   * (it sees its arguments as $1...), `args` are checked like exec's.
   */
  async execScript(script: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (script.includes("'") || script.includes('\0')) throw new UnsafeCommandError('a remote script must not contain a single quote');
    if (args.length > 0) assertSafeArgs(args);
    const command = [`sh -c '${script}' routegen`, ...args].join(' ');
    return this.op('exec', () => this.runCommand(command, 'sh -c', opts));
  }

  private async runCommand(command: string, label: string, opts: ExecOptions): Promise<ExecResult> {
    const useSudo = opts.sudo === true && this.target.user !== 'root';
    if (useSudo) this.requireSudo(`exec ${label}`);
    const r = await this.execRaw(useSudo ? `sudo -n ${command}` : command, opts.input, opts.timeoutMs ?? this.commandTimeoutMs, `exec ${label}`);
    if (useSudo && r.code !== 0 && SUDO_PASSWORD.test(r.stderr)) {
      throw new RemoteError(`sudo on ${this.target.alias} asks ${this.target.user} for a password`, {
        kind: 'sudo', step: `exec ${label}`, host: this.target.alias, stderr: r.stderr, exitCode: r.code, hint: NOPASSWD_HINT(this.target.user),
      });
    }
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs a command (inside the queue) and turns a non-zero exit into RemoteError 'command'. */
  private async runChecked(step: string, argv: string[], sudo: boolean): Promise<ExecResult> {
    assertSafeArgs(argv);
    const r = await this.runCommand(argv.join(' '), argv[0]!, { sudo });
    if (r.code !== 0) throw this.commandError(step, argv, r, sudo);
    return r;
  }

  private commandError(step: string, argv: string[], r: ExecResult, sudo: boolean): RemoteError {
    const stderr = r.stderr.trim();
    return new RemoteError(`${step}: \`${sudo && this.target.user !== 'root' ? 'sudo -n ' : ''}${argv.join(' ')}\` exited ${r.code}${stderr ? `: ${stderr.split('\n').slice(-3).join(' / ')}` : ''}`, {
      kind: 'command', step, host: this.target.alias, stderr: r.stderr, exitCode: r.code,
    });
  }

  /**
   * Runs `command` under the remote `timeout -k 5 SECONDS` (coreutils/busybox): OpenSSH 9.2
   * refuses SSH signal requests on root sessions ("session signalling requires privilege
   * separation"), so closing the channel would leave the command running. Exit 124 (or 137
   * after the -k grace) past the deadline is reported as kind 'timeout'. A local timer with
   * a margin covers a host that stops answering. Hosts without `timeout` run commands bare.
   */
  private async execRaw(command: string, input: string | Buffer | undefined, timeoutMs: number, step: string): Promise<RawResult> {
    if (this.hasTimeoutBinary) {
      const secs = String(Math.max(1, Math.ceil(timeoutMs)) / 1000);
      const r = await this.execChannel(`timeout -k ${TIMEOUT_KILL_AFTER_S} ${secs} ${command}`, input, timeoutMs + (TIMEOUT_KILL_AFTER_S + 5) * 1000, step);
      if (r.code === 127 && /\btimeout: (command )?not found|timeout: No such file/.test(r.stderr)) {
        this.hasTimeoutBinary = false; // the command itself never started
      } else {
        if ((r.code === 124 || r.code === 137) && r.elapsedMs >= timeoutMs - 50) {
          throw new RemoteError(`${step}: timed out after ${timeoutMs} ms: ${command}`, {
            kind: 'timeout', step, host: this.target.alias, stderr: r.stderr, exitCode: r.code,
          });
        }
        return r;
      }
    }
    return this.execChannel(command, input, timeoutMs, step);
  }

  private execChannel(command: string, input: string | Buffer | undefined, timeoutMs: number, step: string): Promise<RawResult> {
    const host = this.target.alias;
    const started = performance.now();
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err: Error | undefined, stream: ClientChannel) => {
        if (err) {
          reject(new RemoteError(`${step}: cannot start a remote command: ${err.message}`, { kind: this.lostReason ? 'connect' : 'command', step, host, cause: err }));
          return;
        }
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let code: number | null = null;
        let signal: string | undefined;
        let settled = false;
        const timer = setTimeout(() => {
          settled = true;
          stream.close();
          reject(new RemoteError(`${step}: timed out after ${timeoutMs} ms (no answer from the host): ${command}`, {
            kind: 'timeout', step, host, stderr: Buffer.concat(errOut).toString('utf8'),
          }));
        }, timeoutMs);
        // Bounded: a host printing without end fails this command, it does not fill memory.
        let outBytes = 0;
        let errBytes = 0;
        const overflow = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          stream.close();
          reject(new RemoteError(`${step}: the host printed more than ${mib(MAX_COMMAND_OUTPUT_BYTES)}, which no command routegen runs does; routegen read no further: ${command}`, {
            kind: 'command', step, host, stderr: Buffer.concat(errOut).subarray(0, 4096).toString('utf8'),
          }));
        };
        stream.on('data', (d: Buffer) => {
          outBytes += d.length;
          if (outBytes > MAX_COMMAND_OUTPUT_BYTES) overflow();
          else out.push(d);
        });
        stream.stderr.on('data', (d: Buffer) => {
          errBytes += d.length;
          if (errBytes > MAX_COMMAND_OUTPUT_BYTES) overflow();
          else errOut.push(d);
        });
        stream.on('exit', (c: number | null, sig?: string) => {
          code = c;
          signal = sig ?? undefined;
        });
        stream.on('close', () => {
          clearTimeout(timer);
          if (settled) return;
          settled = true;
          const stdoutBuf = Buffer.concat(out);
          const stderr = Buffer.concat(errOut).toString('utf8');
          if (code === null && this.lostReason !== undefined) {
            reject(new RemoteError(`${step}: connection lost (${this.lostReason})`, { kind: 'connect', step, host, stderr }));
            return;
          }
          resolve({
            code: code ?? (signal !== undefined ? 128 + signalNumber(signal) : -1),
            stdout: stdoutBuf.toString('utf8'),
            stdoutBuf,
            stderr: signal !== undefined ? `${stderr}${stderr && !stderr.endsWith('\n') ? '\n' : ''}killed by signal ${signal}\n` : stderr,
            elapsedMs: performance.now() - started,
          });
        });
        if (input !== undefined) stream.end(input);
        else stream.end();
      });
    });
  }

  /** Ends the connection; later calls fail with kind 'connect'. Safe to call twice. */
  async close(): Promise<void> {
    await this.queue.run(async () => {
      if (this.closed) return;
      this.closed = true;
      if (this.lostReason !== undefined) {
        // end() would wait for a 'close' event that has already happened.
        this.client.end();
        return;
      }
      await this.sftp.end().catch(() => undefined);
    });
  }
}

function signalNumber(name: string): number {
  const n: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, ABRT: 6, KILL: 9, SEGV: 11, PIPE: 13, ALRM: 14, TERM: 15 };
  return n[name.replace(/^SIG/, '')] ?? 0;
}
