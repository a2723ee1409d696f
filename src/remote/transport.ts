/**
 * The one interface every way of reaching a host's sshd implements (transports/*.ts): it opens
 * a byte stream, and ssh2 runs the SSH protocol over it. Which one a target uses follows from
 * its ssh config, as OpenSSH decides: ProxyJump, else ProxyCommand, else a direct TCP connection.
 */
import type { Duplex } from 'node:stream';
import type { SshTarget } from './sshConfig.js';

/** An open stream to a host's sshd. */
export interface Link {
  sock: Duplex;
  /** How the stream was reached, for messages: "directly", "through bastion root@b:22", "through ProxyCommand ...". */
  via: string;
  /** What the transport knows about a failure that ssh2 does not (a ProxyCommand's stderr and exit). */
  failure(): Promise<string | undefined>;
  /** Ends the stream and anything behind it (a ProxyCommand's process). Safe to call twice. */
  close(): void;
}

/** A way to reach a host. `open` rejects with a RemoteError naming the host and what to try. */
export interface Transport {
  open(target: SshTarget, timeoutMs: number): Promise<Link>;
}
