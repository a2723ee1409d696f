/**
 * A throwaway OpenSSH server for tests: 127.0.0.1 only, a free port, its own ed25519 host key,
 * one authorised user key, root login by key only, everything in a temp dir. It runs in the
 * foreground (`sshd -D -e`) as our child; stop() kills it and the session processes it forked,
 * by pid, then removes the dir.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bound } from './time.js';

export interface TestSshd {
  port: number;
  dir: string;
  /** The ssh_config Host alias sshConfigFile defines for this server. */
  alias: string;
  identityFile: string;
  knownHostsFile: string;
  sshConfigFile: string;
  /** The server's ed25519 host key, base64 as in known_hosts. */
  hostKeyBase64: string;
  /** sshd's own log so far (stderr). */
  log(): string;
  stop(): Promise<void>;
}

const SSHD_CANDIDATES = ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/usr/bin/sshd'];

function findSshd(): string | undefined {
  return SSHD_CANDIDATES.find((p) => existsSync(p));
}

function hasProgram(name: string): boolean {
  try {
    execFileSync(name, ['-V'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** Why the real-sshd tests cannot run here, or undefined when they can. */
export function sshdUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `sshd tests need Linux (this is ${process.platform})`;
  if (!findSshd()) return 'sshd not found (install openssh-server)';
  for (const p of ['ssh', 'ssh-keygen']) if (!hasProgram(p)) return `${p} not found (install openssh-client)`;
  if (process.getuid?.() !== 0) return 'sshd tests log in as root over a private sshd and need to run as root';
  return undefined;
}

/**
 * For a test file: true when sshd tests can run. Otherwise, in CI (CI set) registers nothing
 * and throws, so the run fails; elsewhere prints a loud SKIPPED line and returns false.
 */
export function requireSshd(suite: string): boolean {
  const why = sshdUnavailable();
  if (why === undefined) return true;
  if (process.env.CI) throw new Error(`${suite}: sshd tests cannot run in CI: ${why}`);
  process.stderr.write(`\n*** SKIPPED: ${suite}: ${why} ***\n\n`);
  return false;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something on the port sends an SSH banner; polls connects, no fixed sleep. */
async function waitForBanner(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('sshd exited before it was ready');
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port });
      let data = '';
      const done = (v: boolean) => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(500, () => done(false));
      sock.on('data', (d) => {
        data += d.toString('latin1');
        if (data.startsWith('SSH-2.0-')) done(true);
      });
      sock.on('error', () => done(false));
      sock.on('close', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd not ready on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function keygen(path: string, comment: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { stdio: 'ignore' });
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

/** Pids whose parent is `pid` (sshd's per-connection children). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** `extraConfig`: more sshd_config lines (AllowTcpForwarding no, ...). */
export async function startSshd(opts: { extraConfig?: string[] } = {}): Promise<TestSshd> {
  const sshd = findSshd();
  if (!sshd) throw new Error('sshd not found');
  // sshd refuses to start without its privilege separation directory (an empty, root-owned
  // dir under /run; the Debian service creates it at boot, which a container never does).
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });

  const dir = mkdtempSync(join(tmpdir(), 'routegen-sshd-'));
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const identityFile = join(dir, 'id_ed25519');
  const hostPub = keygen(hostKey, 'routegen-test-host');
  const userPub = keygen(identityFile, 'routegen-test-user');
  writeFileSync(join(dir, 'authorized_keys'), `${userPub}\n`, { mode: 0o600 });
  const hostKeyBase64 = hostPub.split(' ')[1]!;

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `ListenAddress 127.0.0.1:${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'UseDNS no',
        'LogLevel VERBOSE',
        'Subsystem sftp internal-sftp',
        ...(opts.extraConfig ?? []),
        '',
      ].join('\n'),
    );
    const child = spawn(sshd, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
    });
    try {
      await waitForBanner(port, child, bound(5000));
    } catch (err) {
      if (child.exitCode === null) child.kill('SIGKILL');
      lastError = new Error(`${(err as Error).message}\n${log}`);
      if (/Address already in use/.test(log)) continue; // lost the race for the port
      break;
    }

    const knownHostsFile = join(dir, 'known_hosts');
    writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostPub.split(' ').slice(0, 2).join(' ')}\n`, { mode: 0o600 });
    const sshConfigFile = join(dir, 'ssh_config');
    const alias = 'routegen-test';
    writeFileSync(
      sshConfigFile,
      [
        `Host ${alias}`,
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        '  User root',
        `  IdentityFile ${identityFile}`,
        `  UserKnownHostsFile ${knownHostsFile}`,
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '',
      ].join('\n'),
    );

    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        // Session processes first, while the listener is alive to reap them (once it is gone
        // they are re-parented to PID 1, which in a container may never reap them).
        const sessions = childPids(child.pid);
        for (const pid of sessions) {
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            // already gone
          }
        }
        const deadline = Date.now() + bound(1000);
        while (sessions.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 10));
        }
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    };
    return { port, dir, alias, identityFile, knownHostsFile, sshConfigFile, hostKeyBase64, log: () => log, stop };
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError ?? new Error('sshd did not start');
}
