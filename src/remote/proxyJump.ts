/**
 * ProxyJump values as OpenSSH reads them (readconf.c parse_jump): `none`, or a comma list of
 * hops, each `[user@]host[:port]` (an IPv6 address in brackets) or `ssh://[user@]host[:port]`.
 * The last hop is the one that opens the connection to the host; the ones before it are
 * how that hop is reached.
 */
import { RemoteError } from './errors.js';

export interface JumpHop {
  user?: string;
  /** A host name, address or ssh_config alias; resolved with `ssh -G` like any host. */
  host: string;
  port?: number;
}

const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const HOST = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,252}$/;

function parseHop(text: string): JumpHop | string {
  let rest = text.trim();
  if (rest.toLowerCase().startsWith('ssh://')) rest = rest.slice('ssh://'.length).replace(/\/$/, '');
  const hop: Partial<JumpHop> = {};
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    hop.user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!USER.test(hop.user)) return `invalid user name ${JSON.stringify(hop.user)}`;
  }
  let port: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracket) {
    rest = bracket[1]!;
    port = bracket[2];
  } else if (rest.split(':').length === 2) {
    [rest, port] = rest.split(':') as [string, string];
  }
  if (port !== undefined) {
    if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return `invalid port ${JSON.stringify(port)}`;
    hop.port = Number(port);
  }
  if (!HOST.test(rest)) return `invalid host ${JSON.stringify(rest)}`;
  hop.host = rest;
  return hop as JumpHop;
}

/**
 * The hops of a ProxyJump value, first to last; [] for `none`. A malformed hop is a config
 * error naming it and `where` the value came from (the ssh config of a host, or -J).
 */
export function parseProxyJump(value: string, where: { host: string; source: string }): JumpHop[] {
  const text = value.replace(/#.*$/, '').trim();
  if (text.toLowerCase() === 'none') return [];
  const hops: JumpHop[] = [];
  for (const part of text.split(',')) {
    const hop = parseHop(part);
    if (typeof hop === 'string') {
      throw new RemoteError(`${where.source} for ${where.host}: jump host ${JSON.stringify(part)}: ${hop}`, {
        kind: 'config', step: 'resolve ssh config', host: where.host,
        hint: 'write jump hosts as [user@]host[:port], comma-separated, first hop first (as ssh -J takes them)',
      });
    }
    hops.push(hop);
  }
  return hops;
}

/** A hop list back in ProxyJump form. */
export function formatProxyJump(hops: JumpHop[]): string {
  return hops.map((h) => `${h.user ? `${h.user}@` : ''}${h.host.includes(':') ? `[${h.host}]` : h.host}${h.port ? `:${h.port}` : ''}`).join(',');
}
