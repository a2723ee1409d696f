/**
 * ssh config options that change how a host is reached or trusted and that routegen does not
 * follow. Each is named in a warning (once per run, by reach.ts), so a connection that behaves
 * differently from `ssh HOST` never does so silently.
 */

/** `ssh -G` key, its value when the option is not set, and what routegen does instead. */
const OPTIONS: Array<{ key: string; name: string; unset: (v: string) => boolean; instead: string }> = [
  { key: 'bindaddress', name: 'BindAddress', unset: () => false, instead: 'connections leave from the default source address' },
  { key: 'bindinterface', name: 'BindInterface', unset: () => false, instead: 'connections leave through the default interface' },
  { key: 'addressfamily', name: 'AddressFamily', unset: (v) => v === 'any', instead: 'either address family is used' },
  { key: 'connectionattempts', name: 'ConnectionAttempts', unset: (v) => v === '1', instead: 'one attempt per connection' },
  { key: 'proxyusefdpass', name: 'ProxyUseFdpass', unset: (v) => v === 'no', instead: 'the ProxyCommand\'s stdin/stdout carry the connection' },
  { key: 'verifyhostkeydns', name: 'VerifyHostKeyDNS', unset: (v) => v === 'false' || v === 'no', instead: 'host keys are checked against known_hosts only' },
  { key: 'knownhostscommand', name: 'KnownHostsCommand', unset: () => false, instead: 'host keys are checked against the known_hosts files only' },
  { key: 'revokedhostkeys', name: 'RevokedHostKeys', unset: () => false, instead: 'only @revoked lines in known_hosts revoke a key' },
  { key: 'checkhostip', name: 'CheckHostIP', unset: (v) => v === 'no', instead: 'the host key is looked up under the host name only' },
  { key: 'certificatefile', name: 'CertificateFile', unset: () => false, instead: 'plain public key authentication, without certificates' },
  { key: 'pkcs11provider', name: 'PKCS11Provider', unset: () => false, instead: 'keys from ssh-agent and IdentityFile only' },
  { key: 'tunnel', name: 'Tunnel', unset: (v) => v === 'false' || v === 'no', instead: 'no tunnel device' },
];

/** Warnings for the options set in `ssh -G` output `g` that routegen does not follow. */
export function unhonouredOptions(g: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const o of OPTIONS) {
    const v = g.get(o.key)?.[0];
    if (v === undefined || v === 'none' || o.unset(v)) continue;
    out.push(`ssh config: ${o.name} ${v} is not honoured by routegen (${o.instead})`);
  }
  return out;
}
