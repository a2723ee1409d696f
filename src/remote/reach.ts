/**
 * One run's way to its hosts: resolves each host as `ssh -G` does (with routegen's -F and -J),
 * follows ProxyJump hops to the jump hosts (each resolved the same way, loops refused),
 * connects through one shared login per jump host, and gathers what the ssh config asks for
 * that routegen does not honour, to be told once per run.
 */
import { Bastions } from './bastions.js';
import { RemoteHost } from './connection.js';
import { RemoteError } from './errors.js';
import { formatProxyJump, parseProxyJump } from './proxyJump.js';
import { resolveSshTarget, type ResolveOptions, type SshTarget } from './sshConfig.js';

export interface ReachOptions {
  /** ssh_config file (`-F`); default: OpenSSH's own. */
  configFile?: string;
  /** ProxyJump for every host (`-J`), as `ssh -J` takes it; `none` for direct connections. */
  jump?: string;
  acceptNew?: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** ssh-agent socket; default: each target's IdentityAgent, else SSH_AUTH_SOCK. */
  agentSocket?: string;
  /** The ssh binary that resolves configs; tests point it elsewhere. */
  sshBinary?: string;
}

/** Per-host settings (routegen.yaml's ssh: section). */
export type HostOverrides = Pick<ResolveOptions, 'user' | 'port' | 'identityFile'>;

/** More hops than this on the way to one host is taken for a loop. */
const MAX_HOPS = 8;

const identity = (t: SshTarget) => `${t.user}@${t.hostname}:${t.port}`;

export class Reach {
  readonly bastions: Bastions;
  private readonly hops = new Map<string, Promise<SshTarget>>();
  /** Warning → the hosts it concerns. */
  private readonly noted = new Map<string, Set<string>>();

  constructor(private readonly opts: ReachOptions) {
    this.bastions = new Bastions({
      timeoutMs: opts.connectTimeoutMs,
      ...(opts.acceptNew !== undefined && { acceptNew: opts.acceptNew }),
      ...(opts.agentSocket !== undefined && { agentSocket: opts.agentSocket }),
    });
  }

  /** Checks a -J value before anything connects; throws a RemoteError of kind 'config'. */
  static checkJump(jump: string): void {
    parseProxyJump(jump, { host: 'every host', source: '-J/--jump' });
  }

  /** Where and how to reach `name`, jump hosts included. */
  target(name: string, overrides: HostOverrides = {}): Promise<SshTarget> {
    return this.resolve(name, { ...overrides, ...(this.opts.jump !== undefined && { jump: this.opts.jump }) }, [], name);
  }

  private async resolve(name: string, ro: ResolveOptions, chain: SshTarget[], behind: string): Promise<SshTarget> {
    const t = await resolveSshTarget(name, { ...ro, ...(this.opts.configFile !== undefined && { configFile: this.opts.configFile }), ...(this.opts.sshBinary !== undefined && { sshBinary: this.opts.sshBinary }) });
    for (const w of t.warnings) this.note(w, behind);
    if (chain.some((c) => identity(c) === identity(t)) || chain.length >= MAX_HOPS) {
      const path = [...chain, t].reverse().map((c) => c.alias).join(' → ');
      throw new RemoteError(`ProxyJump loop on the way to ${behind}: ${path} (each reached through the next)`, {
        kind: 'config', step: 'resolve ssh config', host: behind,
        hint: `a jump host must not be reached through itself: give ${t.alias} its own route in your ssh config (\`ProxyJump none\` in its Host block), and check with \`ssh -G ${t.alias} | grep -i proxy\``,
      });
    }
    if (t.proxyJump === undefined) return t;
    const hops = parseProxyJump(t.proxyJump, { host: t.alias, source: chain.length === 0 && ro.jump !== undefined ? '-J/--jump' : 'ProxyJump' });
    const last = hops.at(-1);
    if (last === undefined) return t;
    // As ssh does: the last hop reaches the host; it is reached through the hops before it,
    // or, when it is the only one, however its own ssh config says.
    const rest = hops.slice(0, -1);
    const hopOpts: ResolveOptions = {
      hop: true,
      ...(last.user !== undefined && { user: last.user }),
      ...(last.port !== undefined && { port: last.port }),
      ...(rest.length > 0 && { jump: formatProxyJump(rest) }),
    };
    const key = `${JSON.stringify(hopOpts)} ${last.host} ${chain.map(identity).join(' ')} ${identity(t)}`;
    let hop = this.hops.get(key);
    if (hop === undefined) {
      hop = this.resolve(last.host, hopOpts, [...chain, t], behind);
      this.hops.set(key, hop);
    }
    return { ...t, jump: await hop };
  }

  /** Connects to a target from `target()`, through the run's shared jump host logins;
   * `sftp: false`: for commands only. */
  async connect(target: SshTarget, opts: { sftp?: boolean } = {}): Promise<RemoteHost> {
    const conn = await RemoteHost.connect({
      target,
      ...opts,
      bastions: this.bastions,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      commandTimeoutMs: this.opts.commandTimeoutMs,
      ...(this.opts.acceptNew !== undefined && { acceptNew: this.opts.acceptNew }),
      ...(this.opts.agentSocket !== undefined && { agentSocket: this.opts.agentSocket }),
    });
    // As OpenSSH says "Permanently added ... to the list of known hosts".
    if (conn.acceptedKey) this.note(`new host keys accepted (accept-new) and recorded in ${conn.acceptedKey.file}`, `${target.alias} ${conn.acceptedKey.fingerprint}`);
    return conn;
  }

  private note(warning: string, host: string): void {
    const hosts = this.noted.get(warning) ?? new Set<string>();
    hosts.add(host);
    this.noted.set(warning, hosts);
  }

  /** Each warning once, with the hosts it concerns. */
  warnings(): string[] {
    return [...this.noted].map(([w, hosts]) => `${w} (${hosts.size === 1 ? 'host' : 'hosts'}: ${[...hosts].join(', ')})`);
  }

  /** Ends the jump host connections. */
  close(): Promise<void> {
    return this.bastions.close();
  }
}
