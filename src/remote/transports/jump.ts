/**
 * ProxyJump: a `direct-tcpip` channel opened on the bastion's SSH connection, as `ssh -J` does
 * (the bastion's sshd connects to the host). The bastion connection comes from the run's
 * Bastions, so every host behind one bastion shares one login.
 */
import type { Client } from 'ssh2';
import type { Bastions } from '../bastions.js';
import { RemoteError } from '../errors.js';
import type { SshTarget } from '../sshConfig.js';
import type { Link, Transport } from '../transport.js';

/** `user@host:port` of a target, as messages name hops. */
export function hopName(t: SshTarget): string {
  return `${t.user}@${t.hostname}:${t.port}${t.alias !== t.hostname ? ` (${t.alias})` : ''}`;
}

function forward(client: Client, target: SshTarget): Promise<NodeJS.ReadWriteStream> {
  return new Promise((resolve, reject) => {
    // The originator address is informational; OpenSSH's ssh -W sends 127.0.0.1 too.
    client.forwardOut('127.0.0.1', 0, target.hostname, target.port, (err, channel) => (err ? reject(err) : resolve(channel)));
  });
}

/** Reaches targets whose `jump` is set, through the bastions of `bastions`. */
export function jumpTransport(bastions: Bastions): Transport {
  return {
    async open(target, timeoutMs) {
      const hop = target.jump;
      if (hop === undefined) throw new Error(`jumpTransport: ${target.alias} has no jump host`);
      const client = await bastions.client(hop, target);
      const where = `${target.hostname}:${target.port}`;
      let timer: NodeJS.Timeout | undefined;
      try {
        const channel = await Promise.race([
          forward(client, target),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        const sock = channel as unknown as Link['sock'];
        sock.on('error', () => undefined); // ssh2 reports the connection as lost
        return { sock, via: `through jump host ${hopName(hop)}`, failure: async () => undefined, close: () => sock.destroy() };
      } catch (err) {
        // sshd's words: "Connection refused", "administratively prohibited: open failed", ...
        const why = (err as Error).message.replace(/^\(SSH\) /, '');
        // RFC 4254 5.1 reason 1: SSH_OPEN_ADMINISTRATIVELY_PROHIBITED (OpenSSH says only "open failed").
        const prohibited = (err as { reason?: unknown }).reason === 1;
        throw new RemoteError(`jump host ${hopName(hop)} could not open a connection to ${target.alias} (${where}): ${why}${prohibited ? ' (administratively prohibited)' : ''}`, {
          kind: 'connect', step: `connect via ${hop.alias}`, host: target.alias, cause: err,
          hint: prohibited
            ? `the jump host's sshd forbids forwarding (AllowTcpForwarding / PermitOpen in its sshd_config)`
            : `from the jump host, is ${where} reachable and sshd running there? (\`ssh ${hop.alias} nc -zv ${target.hostname} ${target.port}\`)`,
        });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
