/**
 * ProxyCommand, run as OpenSSH runs it (sshconnect.c): `exec COMMAND` through the user's shell
 * (`$SHELL -c`, else /bin/sh), with %h %p %r %n %k %% substituted; its stdin and stdout carry
 * the SSH connection, its stderr is kept for the error message when the connection fails.
 */
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { RemoteError } from '../errors.js';
import type { SshTarget } from '../sshConfig.js';
import type { Transport } from '../transport.js';

/** Keep the last few KiB of the command's stderr: enough to say why it failed. */
const STDERR_KEEP = 8192;

/**
 * ProxyCommand's tokens (ssh_config(5) TOKENS): %h host name, %p port, %r remote user,
 * %n the name given, %k the HostKeyAlias (else the name given), %% a percent sign. Every
 * value is validated by sshConfig.ts (a DNS name or address, a number, a user name, an
 * alias), so none can carry shell syntax. Another token is an error, as in ssh.
 */
export function expandProxyCommand(command: string, target: SshTarget): string {
  return command.replace(/%(.?)/g, (whole, t: string) => {
    switch (t) {
      case '%': return '%';
      case 'h': return target.hostname;
      case 'p': return String(target.port);
      case 'r': return target.user;
      case 'n': return target.alias;
      case 'k': return target.hostKeyAlias ?? target.alias;
      default:
        throw new RemoteError(`ProxyCommand for ${target.alias} has the token ${whole || '%'} (at the end), which ssh does not know either`, {
          kind: 'config', step: 'resolve ssh config', host: target.alias, hint: 'ProxyCommand understands %h %p %r %n %k and %% (write a literal % as %%)',
        });
    }
  });
}

/** The shell OpenSSH runs a ProxyCommand with. */
function proxyShell(): string {
  const shell = process.env.SHELL;
  return shell !== undefined && shell !== '' ? shell : '/bin/sh';
}

export const commandTransport: Transport = {
  async open(target) {
    const command = expandProxyCommand(target.proxyCommand ?? '', target);
    const child = spawn(proxyShell(), ['-c', `exec ${command}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let exit: string | undefined;
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEEP);
    });
    // 'close': exited, and its stderr read to the end.
    const closed = new Promise<void>((resolve) => {
      child.on('close', (code, signal) => {
        exit = signal ? `killed by ${signal}` : `exited ${code}`;
        resolve();
      });
    });
    // Writes after the command exited fail with EPIPE; ssh2 sees the stream end instead.
    child.stdin.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new RemoteError(`cannot run ProxyCommand for ${target.alias} with ${proxyShell()}: ${err.message}`, {
        kind: 'connect', step: 'connect', host: target.alias, cause: err, hint: 'check SHELL, or the ProxyCommand in your ssh config',
      })));
    });
    const sock = Duplex.from({ readable: child.stdout, writable: child.stdin });
    sock.on('error', () => undefined); // ssh2 reports the connection as lost
    return {
      sock,
      via: `through ProxyCommand \`${command}\``,
      failure: async () => {
        // The connection failed: give a command that is exiting a moment to do so.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, 2000)))]);
        clearTimeout(timer);
        const said = stderr.trim();
        if (exit === undefined && said === '') return undefined;
        return `ProxyCommand \`${command}\`${exit ? ` ${exit}` : ''}${said ? `: ${said.split('\n').slice(-5).join(' / ')}` : ''}`;
      },
      close: () => {
        sock.destroy();
        // Like ssh, which kills its proxy command when the connection ends.
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
    };
  },
};
