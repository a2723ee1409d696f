/** Direct TCP to the host's address and port: what ssh does without ProxyJump or ProxyCommand. */
import { connect } from 'node:net';
import { RemoteError } from '../errors.js';
import type { Link, Transport } from '../transport.js';

/** What to try for the usual connect(2) errors. */
const HINTS: Record<string, string> = {
  ECONNREFUSED: 'nothing listens on that port: is sshd running, and is the port right?',
  ENOTFOUND: 'the name does not resolve: check HostName / machines.txt',
  EAI_AGAIN: 'the name does not resolve (DNS unavailable?)',
  EHOSTUNREACH: 'no route to the host (if it is only reachable through a bastion: ProxyJump in ~/.ssh/config, or -J BASTION)',
  ENETUNREACH: 'no route to the host\'s network (if it is only reachable through a bastion: ProxyJump in ~/.ssh/config, or -J BASTION)',
  ETIMEDOUT: 'the host did not answer',
};

export const directTransport: Transport = {
  open(target, timeoutMs) {
    const where = `${target.user}@${target.hostname}:${target.port}`;
    return new Promise<Link>((resolve, reject) => {
      const sock = connect({ host: target.hostname, port: target.port });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new RemoteError(`connecting to ${where} timed out after ${timeoutMs} ms`, {
          kind: 'timeout', step: 'connect', host: target.alias, hint: 'is the host up and port reachable? (ConnectTimeout / --connect-timeout)',
        }));
      }, timeoutMs);
      sock.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const hint = HINTS[err.code ?? ''];
        reject(new RemoteError(`cannot connect to ${where}: ${err.message}`, {
          kind: 'connect', step: 'connect', host: target.alias, cause: err, ...(hint !== undefined && { hint }),
        }));
      });
      sock.once('connect', () => {
        clearTimeout(timer);
        // SSH is request/response in small packets: without TCP_NODELAY a write that follows an
        // unacknowledged one waits for the peer's delayed ACK (40 ms on Linux).
        sock.setNoDelay(true);
        sock.on('error', () => undefined); // ssh2 reports it; never an unhandled 'error' event
        resolve({ sock, via: 'directly', failure: async () => undefined, close: () => sock.destroy() });
      });
    });
  },
};
