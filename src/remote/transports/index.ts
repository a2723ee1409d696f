/** Which transport reaches a target, as OpenSSH decides: ProxyJump, else ProxyCommand, else TCP. */
import type { Bastions } from '../bastions.js';
import type { SshTarget } from '../sshConfig.js';
import type { Transport } from '../transport.js';
import { commandTransport } from './command.js';
import { directTransport } from './direct.js';
import { jumpTransport } from './jump.js';

export function transportFor(target: SshTarget, bastions: Bastions): Transport {
  if (target.jump) return jumpTransport(bastions);
  if (target.proxyCommand !== undefined) return commandTransport;
  return directTransport;
}
