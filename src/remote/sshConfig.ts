/**
 * Resolves where and how to connect to a host exactly as OpenSSH would, by asking OpenSSH:
 * `ssh -G` applies ~/.ssh/config, /etc/ssh/ssh_config, Include, Match and defaults.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir, hostname as localHostname, userInfo } from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { RemoteError } from './errors.js';
import { unhonouredOptions } from './unhonoured.js';

export interface SshTarget {
  /** The name routegen was given (an ssh_config `Host` alias or a plain host). */
  alias: string;
  /** Where to connect: a DNS name or an IP literal, validated. */
  hostname: string;
  port: number;
  user: string;
  /** Candidate private keys in OpenSSH's order, `~` and `%` tokens expanded; may not exist. */
  identityFiles: string[];
  /** UserKnownHostsFile entries, then GlobalKnownHostsFile entries; may not exist. */
  knownHostsFiles: string[];
  strictHostKeyChecking: 'yes' | 'no' | 'accept-new' | 'ask';
  connectTimeoutMs?: number;
  hostKeyAlias?: string;
  /** HashKnownHosts: whether accept-new writes the host name hashed. */
  hashKnownHosts: boolean;
  /** IdentityAgent from the config: a socket path, or 'none' to use no agent. */
  identityAgent?: string;
  /** ProxyJump as `ssh -G` prints it (from the config, or routegen's -J), `none` left out. */
  proxyJump?: string;
  /** ProxyCommand as written, %-tokens not yet expanded; used when there is no ProxyJump. */
  proxyCommand?: string;
  /** The jump host this target is reached through (the last hop of proxyJump), resolved by reach.ts. */
  jump?: SshTarget;
  /** Things routegen noticed but does not honour; worded the same for every host. */
  warnings: string[];
}

export interface ResolveOptions {
  configFile?: string;
  user?: string;
  port?: number;
  identityFile?: string;
  /** ProxyJump given on the command line (`ssh -J`), overriding the config's. */
  jump?: string;
  /**
   * A jump host rather than a host routegen configures: with no User anywhere, the local
   * user name, as `ssh -J` would log in (routegen's own hosts default to root).
   */
  hop?: boolean;
  /** The ssh binary; tests point it elsewhere. Default `ssh` from PATH. */
  sshBinary?: string;
}

const DNS_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DNS_NAME = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*\\.?$`);
const ALIAS = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,252}$/;
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/** A DNS name (RFC 1123 labels, no underscores) or an IPv4/IPv6 literal without a zone. */
export function isValidHostname(name: string): boolean {
  // node accepts an IPv6 zone (fe80::1%eth0); it has no place in known_hosts or a config.
  if (isIPv4(name) || (isIPv6(name) && !name.includes('%'))) return true;
  // An all-numeric dotted name that is not a valid IPv4 address (999.1.1.1) is a typo.
  if (/^[0-9.]+$/.test(name)) return false;
  return name.length <= 253 && DNS_NAME.test(name);
}

function configError(host: string, message: string, hint?: string, stderr?: string): RemoteError {
  return new RemoteError(message, {
    kind: 'config',
    step: 'resolve ssh config',
    host,
    ...(hint !== undefined && { hint }),
    ...(stderr !== undefined && { stderr }),
  });
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

function expandTilde(path: string, home: string): string {
  if (path === '~') return home;
  return path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

interface TokenValues {
  home: string;
  localUser: string;
  hostname: string;
  alias: string;
  port: number;
  user: string;
}

/** IdentityFile `%` tokens (ssh_config(5) TOKENS); `ssh -G` prints them unexpanded. */
function expandTokens(path: string, v: TokenValues, warnings: string[]): string {
  return path.replace(/%(.)/g, (whole, t: string) => {
    switch (t) {
      case '%': return '%';
      case 'd': return v.home;
      case 'u': return v.localUser;
      case 'h': return v.hostname;
      case 'n': return v.alias;
      case 'p': return String(v.port);
      case 'r': return v.user;
      case 'i': return String(process.getuid?.() ?? '');
      case 'l': return localHostname();
      case 'L': return localHostname().split('.')[0] ?? '';
      default:
        warnings.push(`IdentityFile ${path}: token ${whole} is not supported by routegen; left as is`);
        return whole;
    }
  });
}

/** `key value` lines of `ssh -G` into a map of lists (identityfile and others repeat). */
export function parseSshG(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const list = out.get(key) ?? [];
    list.push(m[2]!);
    out.set(key, list);
  }
  return out;
}

function runSshG(binary: string, argv: string[]): Promise<{ stdout: string } | { missing: true }> {
  return new Promise((resolve, reject) => {
    execFile(binary, argv, { timeout: 10_000, maxBuffer: 1 << 20, env: process.env }, (err, stdout, stderr) => {
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return resolve({ missing: true });
        reject(Object.assign(err, { stderr: String(stderr) }));
        return;
      }
      resolve({ stdout: String(stdout) });
    });
  });
}

function mapStrict(value: string | undefined): SshTarget['strictHostKeyChecking'] {
  switch (value) {
    case 'true': case 'yes': return 'yes';
    case 'false': case 'no': case 'off': return 'no';
    case 'accept-new': return 'accept-new';
    default: return 'ask';
  }
}

/**
 * Where and how to reach `host`: `ssh -G [-F configFile] [-l user] [-p port] [-i identity]
 * [-J jump] -- host`, so explicit options win over the config exactly as on ssh's command line.
 * routegen's default user is root: when ssh reports the local user name (nothing configured),
 * root is used instead. Without an ssh client, OpenSSH's defaults, with a warning.
 */
export async function resolveSshTarget(host: string, opts: ResolveOptions = {}): Promise<SshTarget> {
  if (!ALIAS.test(host)) {
    throw configError(host, `invalid host name ${JSON.stringify(host)}`, 'use a DNS name, an IP address or an ssh_config Host alias');
  }
  if (opts.user !== undefined && !USER.test(opts.user)) {
    throw configError(host, `invalid SSH user ${JSON.stringify(opts.user)}`);
  }
  if (opts.port !== undefined && !validPort(opts.port)) {
    throw configError(host, `invalid SSH port ${String(opts.port)}`, 'a port is an integer from 1 to 65535');
  }
  const home = homedir();
  const identityFile = opts.identityFile === undefined ? undefined : expandTilde(opts.identityFile, home);
  if (identityFile !== undefined && !existsSync(identityFile)) {
    throw configError(host, `identity file ${identityFile} does not exist`);
  }

  const argv = ['-G'];
  if (opts.configFile !== undefined) argv.push('-F', opts.configFile);
  if (opts.user !== undefined) argv.push('-l', opts.user);
  if (opts.port !== undefined) argv.push('-p', String(opts.port));
  if (identityFile !== undefined) argv.push('-i', identityFile);
  if (opts.jump !== undefined) argv.push('-J', opts.jump);
  argv.push('--', host);

  let result: { stdout: string } | { missing: true };
  try {
    result = await runSshG(opts.sshBinary ?? 'ssh', argv);
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw configError(host, `ssh -G ${host} failed: ${stderr || (err as Error).message}`, 'check the ssh config file', stderr);
  }
  const localUser = userInfo().username;
  const warnings: string[] = [];

  if ('missing' in result) {
    const user = opts.user ?? 'root';
    const port = opts.port ?? 22;
    warnings.push('ssh (OpenSSH client) not found: ssh config is not applied; using defaults (port 22, ~/.ssh keys, ~/.ssh/known_hosts)');
    if (!isValidHostname(host)) {
      throw configError(host, `invalid host name ${JSON.stringify(host)}`, 'without an ssh client, aliases from ~/.ssh/config cannot be resolved');
    }
    const defaults = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(home, '.ssh', f)).filter((f) => existsSync(f));
    return {
      alias: host,
      hostname: host.toLowerCase(),
      port,
      user,
      identityFiles: identityFile !== undefined ? [identityFile] : defaults,
      knownHostsFiles: [join(home, '.ssh', 'known_hosts')],
      strictHostKeyChecking: 'ask',
      hashKnownHosts: false,
      ...(opts.jump !== undefined && opts.jump.toLowerCase() !== 'none' && { proxyJump: opts.jump }),
      warnings,
    };
  }

  const g = parseSshG(result.stdout);
  const one = (key: string) => g.get(key)?.[0];
  const list = (key: string) => (g.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter((v) => v !== '' && v !== 'none');

  const hostname = (one('hostname') ?? host).toLowerCase();
  if (!isValidHostname(hostname)) {
    throw configError(host, `HostName ${JSON.stringify(hostname)} for ${host} is not a DNS name or IP address`);
  }
  const port = Number(one('port') ?? 22);
  if (!validPort(port)) throw configError(host, `invalid Port ${one('port')} for ${host}`);
  let user = one('user') ?? localUser;
  if (opts.user !== undefined) user = opts.user;
  else if (user === localUser && opts.hop !== true) user = 'root';
  if (!USER.test(user)) throw configError(host, `invalid User ${JSON.stringify(user)} for ${host}`);

  const tokens: TokenValues = { home, localUser, hostname, alias: host, port, user };
  const identityFiles = (g.get('identityfile') ?? []).map((f) => expandTokens(expandTilde(f, home), tokens, warnings));
  const knownHostsFiles = [...list('userknownhostsfile'), ...list('globalknownhostsfile')].map((f) => expandTilde(f, home));

  const target: SshTarget = {
    alias: host,
    hostname,
    port,
    user,
    identityFiles: [...new Set(identityFiles)],
    knownHostsFiles: [...new Set(knownHostsFiles)],
    strictHostKeyChecking: mapStrict(one('stricthostkeychecking')),
    hashKnownHosts: one('hashknownhosts') === 'yes',
    warnings,
  };
  const timeout = one('connecttimeout');
  if (timeout !== undefined && /^[0-9]+$/.test(timeout) && Number(timeout) > 0) {
    target.connectTimeoutMs = Number(timeout) * 1000;
  }
  const alias = one('hostkeyalias');
  if (alias !== undefined && alias !== 'none') target.hostKeyAlias = alias.toLowerCase();
  const agent = one('identityagent');
  if (agent !== undefined) {
    target.identityAgent = agent === 'SSH_AUTH_SOCK' ? process.env.SSH_AUTH_SOCK ?? 'none' : expandTilde(agent, home);
  }
  // ssh -G prints the one of the two that takes effect (ProxyJump sets ProxyCommand to none).
  const jump = one('proxyjump');
  const command = one('proxycommand');
  if (jump !== undefined && jump.toLowerCase() !== 'none') target.proxyJump = jump;
  else if (command !== undefined && command !== 'none') target.proxyCommand = command;
  warnings.push(...unhonouredOptions(g));
  return target;
}
