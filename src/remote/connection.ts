/**
 * RemoteHost: one logged-in SSH connection to a host, however it was reached, with commands
 * (commands.ts) and files (files.ts) on it, one operation at a time. The rest of routegen
 * sees only RemoteHost and RemoteError.
 *
 * The SSH layer, one job per file: sshConfig.ts (where a host is, as `ssh -G` says), trust.ts
 * (known_hosts), auth.ts (agent, keys), transport.ts + transports/ (direct TCP, jump host,
 * ProxyCommand), bastions.ts (one login per jump host per run), login.ts (the SSH handshake),
 * reach.ts (a run's targets and connections), commands.ts, files.ts.
 */
import pLimit from 'p-limit';
import type { Client } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { Bastions } from './bastions.js';
import { assertSafeArgs, Commands, UnsafeCommandError, type ExecOptions, type ExecResult } from './commands.js';
import { RemoteError } from './errors.js';
import { Files, type RemoteStat } from './files.js';
import { login, type Session } from './login.js';
import type { RequestChannel } from './requests.js';
import type { SshTarget } from './sshConfig.js';
import { transportFor } from './transports/index.js';

export { RemoteError } from './errors.js';
export type { RemoteErrorKind } from './errors.js';
export { UnsafeCommandError } from './commands.js';
export type { ExecOptions, ExecResult } from './commands.js';
export type { RemoteStat } from './files.js';
export type { RequestChannel } from './requests.js';

export interface ConnectOptions {
  target: SshTarget;
  /** Record and trust an unknown host key (OpenSSH's accept-new). Never a changed one. */
  acceptNew?: boolean;
  /** Transport + handshake + auth + SFTP start. Default: the target's ConnectTimeout, else 10000. */
  connectTimeoutMs?: number;
  /** Per remote command. Default 60000. */
  commandTimeoutMs?: number;
  /** ssh-agent socket. Default: the target's IdentityAgent, else SSH_AUTH_SOCK. */
  agentSocket?: string;
  /** The run's jump host connections; default: a private set, closed with this host. */
  bastions?: Bastions;
  /** Start SFTP (default). Without it the connection runs commands only: the login that
   * confirms a push needs no more, and a host's SFTP server is a process of its own. */
  sftp?: boolean;
}

/**
 * ssh2-sftp-client on the connection login.ts made. Its connect() is not used: it would log in
 * again, with its own retries and its own errors. What connect() does after its login is what is
 * done here: its `client` is the logged-in ssh2 Client, and its public getSftpChannel() opens the
 * channel (and sets its `sftp`). Its errors read `getSftpChannel: <ssh2's>`; ssh2's is kept.
 */
async function startSftp(client: Client): Promise<SftpClient> {
  const sftp = new SftpClient(); // its own unconnected ssh2 Client is dropped here
  sftp.client = client;
  await sftp.getSftpChannel().catch((err: Error) => {
    throw new Error(err.message.replace(/^getSftpChannel: /, ''));
  });
  return sftp;
}

export class RemoteHost {
  readonly user: string;
  readonly target: SshTarget;
  /** When the key was unknown and accepted: where it was recorded. */
  readonly acceptedKey?: { file: string; fingerprint: string };

  /** One SFTP/exec operation at a time. */
  private readonly queue = pLimit(1);
  private closed = false;
  private lostReason: string | undefined;
  private readonly commands: Commands;
  private readonly fileOps: Files | undefined;

  private constructor(
    private readonly session: Session,
    sftp: SftpClient | undefined,
    commandTimeoutMs: number,
    target: SshTarget,
    private readonly ownBastions: Bastions | undefined,
  ) {
    this.target = target;
    this.user = target.user;
    if (session.accepted) this.acceptedKey = session.accepted;
    this.commands = new Commands(session.client, target, commandTimeoutMs, () => this.lostReason);
    this.fileOps = sftp && new Files(sftp, this.commands, target, () => (this.closed || this.lostReason !== undefined ? (this.lostReason ?? 'closed') : undefined));
    session.client.on('close', () => {
      this.lostReason ??= 'connection closed';
    });
    session.client.on('error', (err: Error) => {
      this.lostReason ??= err.message;
    });
  }

  private get files(): Files {
    if (!this.fileOps) throw new RemoteError(`no SFTP on this connection to ${this.target.alias} (opened for commands only)`, { kind: 'sftp', step: 'sftp', host: this.target.alias });
    return this.fileOps;
  }

  /** root, or a user for whom `sudo -n true` works. */
  get privileged(): boolean {
    return this.commands.sudoState === 'root' || this.commands.sudoState === 'ok';
  }

  /**
   * Reaches the host as its ssh config says (directly, through jump hosts, or a ProxyCommand),
   * checks its host key against the target's known_hosts files, authenticates (agent, then
   * unencrypted identity files) and starts SFTP, all on one connection.
   */
  static async connect(opts: ConnectOptions): Promise<RemoteHost> {
    const { target } = opts;
    const timeoutMs = opts.connectTimeoutMs ?? target.connectTimeoutMs ?? 10_000;
    const loginOpts = { timeoutMs, ...(opts.acceptNew !== undefined && { acceptNew: opts.acceptNew }), ...(opts.agentSocket !== undefined && { agentSocket: opts.agentSocket }) };
    const own = opts.bastions === undefined && target.jump !== undefined ? new Bastions(loginOpts) : undefined;
    const bastions = opts.bastions ?? own ?? new Bastions(loginOpts);
    let session: Session | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      session = await login(target, transportFor(target, bastions), loginOpts);
      const s = session;
      // The handshake had its time; starting SFTP gets a second of its own.
      const sftp = opts.sftp === false ? undefined : await Promise.race([
        startSftp(s.client),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('SFTP did not start in time')), 1000 + timeoutMs);
        }),
      ]).catch((err: Error) => {
        throw new RemoteError(`cannot start SFTP on ${target.alias}: ${err.message}`, {
          kind: 'connect', step: 'start sftp', host: target.alias, cause: err, hint: 'is `Subsystem sftp` configured in the host\'s sshd_config?',
        });
      });
      const remote = new RemoteHost(s, sftp, opts.commandTimeoutMs ?? 60_000, target, own);
      await remote.commands.probeSudo();
      return remote;
    } catch (err) {
      if (session) {
        session.client.end();
        session.link.close();
      }
      await own?.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private op<T>(step: string, fn: () => Promise<T>): Promise<T> {
    return this.queue(async () => {
      if (this.closed) throw new RemoteError(`${step}: connection to ${this.target.alias} is closed`, { kind: 'connect', step, host: this.target.alias });
      return fn();
    });
  }

  /** The file's bytes, or null when it does not exist. */
  readFile(path: string): Promise<Buffer | null> {
    return this.op('read', () => this.files.readFile(path));
  }

  /** Permission bits (`mode & 0o7777`), size, and whether it is a directory; null when missing. */
  stat(path: string): Promise<RemoteStat | null> {
    return this.op('stat', () => this.files.stat(path));
  }

  /**
   * Replaces `path` so that no reader ever sees a partial file: writes a temp file in the same
   * directory (created exclusively, never through an existing file or link), sets its mode
   * while it is still hidden, then renames it over the target. The temp is removed on failure.
   * A non-root user with passwordless sudo: uploads into their home first, then
   * `sudo -n install -m MODE -o root -g root` to the temp name and `sudo -n mv -f` over the target.
   */
  writeFileAtomic(path: string, content: string | Buffer, mode: number, opts: { tmpName?: string } = {}): Promise<void> {
    return this.op('write', () => this.files.writeFileAtomic(path, content, mode, opts.tmpName));
  }

  /** posix-rename@openssh.com: atomically replaces `to`. */
  rename(from: string, to: string): Promise<void> {
    return this.op('rename', () => this.files.rename(from, to));
  }

  /** Removes a file; no error when it does not exist. */
  remove(path: string): Promise<void> {
    return this.op('remove', () => this.files.remove(path));
  }

  /** `mkdir -p`; directories it creates get `mode` (default 0755). */
  mkdirp(path: string, mode = 0o755): Promise<void> {
    return this.op('mkdir', () => this.files.mkdirp(path, mode));
  }

  /** Names in a directory (no `.`/`..`), sorted. */
  list(dir: string): Promise<string[]> {
    return this.op('list', () => this.files.list(dir));
  }

  /**
   * Runs a command on the same connection. Every argument must match SAFE_ARG (the remote side
   * is a shell; nothing is quoted), else UnsafeCommandError. A non-zero exit is a result, not
   * an error; a timeout is RemoteError kind 'timeout'; sudo asking for a password, kind 'sudo'.
   */
  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    assertSafeArgs(argv);
    return this.op('exec', () => this.commands.run(argv.join(' '), argv[0]!, opts));
  }

  /**
   * `sh -c '<script>' routegen <args...>`: `script` is a constant from routegen's own code
   * (it sees its arguments as $1...), `args` are checked like exec's.
   */
  async execScript(script: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (script.includes("'") || script.includes('\0')) throw new UnsafeCommandError('a remote script must not contain a single quote');
    if (args.length > 0) assertSafeArgs(args);
    const command = [`sh -c '${script}' routegen`, ...args].join(' ');
    return this.op('exec', () => this.commands.run(command, 'sh -c', opts));
  }

  /** A process on the host that answers requests one line at a time (requests.ts); its own
   * channel, beside the connection's one-at-a-time operations. */
  serve(argv: string[], opts: { sudo?: boolean }, mark: string): Promise<RequestChannel> {
    if (this.closed || this.lostReason !== undefined) {
      return Promise.reject(new RemoteError(`serve: connection to ${this.target.alias} is ${this.lostReason ?? 'closed'}`, { kind: 'connect', step: 'serve', host: this.target.alias }));
    }
    return this.commands.openRequests(argv, opts, mark);
  }

  /** Ends the connection; later calls fail with kind 'connect'. Safe to call twice. */
  async close(): Promise<void> {
    await this.queue(async () => {
      if (this.closed) return;
      this.closed = true;
      const { client, link } = this.session;
      if (this.lostReason === undefined) {
        // ssh2 says goodbye and waits for the server to close; a server that never does
        // (a dead bastion channel) is not waited for long.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 2000);
          client.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          client.end();
        });
      }
      link.close();
      await this.ownBastions?.close();
    });
  }
}
