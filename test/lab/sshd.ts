/**
 * SSH in the lab: the keys (made in-process, in OpenSSH's formats), each host's sshd_config, and
 * the jumpbox's client side (ssh_config and known_hosts). sshd itself is started and stopped
 * inside the host by rglab (host/rglab.sh).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { bound } from '../helpers/time.js';
import type { LabHost } from './topology.js';

/** SSH wire-format string: uint32 length, bytes. */
function sshString(b: Buffer | string): Buffer {
  const buf = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}

/**
 * A new ed25519 key pair in OpenSSH's formats (unencrypted "openssh-key-v1" private key, one-line
 * public key), made in-process: 51 `ssh-keygen` runs cost a quarter of a second of CPU.
 */
export function ed25519Key(comment: string): { privateKey: string; publicKey: string } {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(jwk.x!, 'base64url');
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const none = sshString('none');
  const count = Buffer.from([0, 0, 0, 1]);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), none, none, sshString(''), count, sshString(pubBlob), sshString(priv)]);
  const b64 = body.toString('base64').replace(/(.{70})/g, '$1\n').replace(/\n$/, '');
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${pubBlob.toString('base64')} ${comment}\n`,
  };
}

/** Write a new key pair: `file` (private, 0600) and `file`.pub. */
export async function writeKeyPair(file: string, comment: string): Promise<void> {
  const key = ed25519Key(comment);
  await fsp.writeFile(file, key.privateKey, { mode: 0o600 });
  await fsp.writeFile(`${file}.pub`, key.publicKey);
}

/** sshd_config of one host (paths as the host sees them: /run/lab is its lab dir). */
export function sshdConfig(ip: string): string {
  return [
    '# sshd for one routegen lab host (paths as the host sees them: /run/lab is its lab dir)',
    `ListenAddress ${ip}:22`,
    'HostKey /run/lab/ssh_host_ed25519_key',
    'PidFile /run/sshd.pid',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'AuthenticationMethods publickey',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'AuthorizedKeysFile /run/lab/authorized_keys',
    'Subsystem sftp internal-sftp',
    'MaxStartups 200:30:400',
    'MaxSessions 50',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

/** The jumpbox's ssh_config: every host, as root, with the lab key; host keys from the lab's known_hosts. */
export function sshClientConfig(identityFile: string, knownHostsFile: string): string {
  return [
    '# routegen lab: every host, as root, with the lab key; host keys from the lab known_hosts',
    'Host *',
    `  IdentityFile ${identityFile}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${knownHostsFile}`,
    '  GlobalKnownHostsFile /dev/null',
    '  User root',
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    `  ConnectTimeout ${Math.ceil(bound(5000) / 1000)}`,
    '  LogLevel ERROR',
    '',
  ].join('\n');
}

/**
 * known_hosts for the hosts, given each one's public key file text: one plain "HOST keytype
 * base64" line per name, IPs first, then hostnames and FQDNs (the jumpbox's /etc/hosts resolves those).
 */
export function knownHosts(hosts: readonly LabHost[], pubKeys: readonly string[]): string {
  const key = (i: number) => pubKeys[i]!.trim().split(/\s+/).slice(0, 2).join(' ');
  return [
    ...hosts.map((h, i) => `${h.ip} ${key(i)}\n`),
    ...hosts.map((h, i) => `${h.name} ${key(i)}\n${h.name}.kubernetes.local ${key(i)}\n`),
  ].join('');
}
