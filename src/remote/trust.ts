/**
 * Host key trust: whether to believe the key a server presents, decided as OpenSSH's
 * StrictHostKeyChecking does against the target's known_hosts files (knownHosts.ts parses them).
 * Every trust rule of the remote layer lives here; the same rules apply to every hop of a jump.
 */
import { readFile } from 'node:fs/promises';
import type { ConnectConfig } from 'ssh2';
import { RemoteError } from './errors.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  hostKeyAlgorithmsFor,
  hostKeyName,
  keyTypeOfBlob,
  knownKeyTypes,
  type HostKeyCheck,
  type KnownHostsFile,
} from './knownHosts.js';
import type { SshTarget } from './sshConfig.js';

/** Host key algorithms ssh2 1.17 can verify. */
const SSH2_HOST_KEY_ALGOS = new Set([
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
  'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-dss',
]);

/** What ssh2 needs to check one server's key, and what the check found. */
export interface HostTrust {
  /** The name looked up in known_hosts: the HostKeyAlias, or host / `[host]:port`. */
  name: string;
  /** Key types known_hosts lists for `name` (empty when the host is unknown). */
  knownTypes: string[];
  hostVerifier: NonNullable<ConnectConfig['hostVerifier']>;
  /** Only the algorithms that can present a key known_hosts lists (when it lists any). */
  algorithms?: ConnectConfig['algorithms'];
  /** Why the key was refused, once ssh2 has asked. */
  refused(): RemoteError | undefined;
  /** Where an unknown key was recorded (accept-new), once ssh2 has asked. */
  accepted(): { file: string; fingerprint: string } | undefined;
}

/** OpenSSH records a new key when StrictHostKeyChecking is accept-new (or no); routegen's --accept-new does the same. */
export function mayAcceptNew(target: SshTarget, acceptNew: boolean | undefined): boolean {
  return acceptNew === true || target.strictHostKeyChecking === 'accept-new' || target.strictHostKeyChecking === 'no';
}

async function readKnownHostsFiles(target: SshTarget): Promise<KnownHostsFile[]> {
  const files: KnownHostsFile[] = [];
  for (const path of target.knownHostsFiles) {
    try {
      files.push({ path, text: await readFile(path, 'utf8') });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new RemoteError(`cannot read ${path}: ${(err as Error).message}`, {
        kind: 'hostkey', step: 'read known_hosts', host: target.alias, cause: err,
      });
    }
  }
  return files;
}

/** A RemoteError for the host key verdict, with what the user can do about it. */
function hostKeyError(target: SshTarget, name: string, keyType: string, keyB64: string, check: HostKeyCheck, files: KnownHostsFile[]): RemoteError {
  const fp = fingerprintSha256(keyB64);
  const host = target.alias;
  const step = 'verify host key';
  switch (check.verdict) {
    case 'revoked':
      return new RemoteError(`host key ${keyType} ${fp} of ${name} is REVOKED (${check.matchedAt}); refusing to connect`, {
        kind: 'hostkey', step, host, hint: 'the host presents a key marked @revoked: investigate before removing the @revoked line',
      });
    case 'cert-authority':
      return new RemoteError(`${name} is known only through a host certificate authority (@cert-authority at ${check.matchedAt}), and routegen cannot verify host certificates; refusing to connect (--accept-new does not apply)`, {
        kind: 'hostkey', step, host,
        hint: `record the host's own key beside the @cert-authority line, checked out of band: on the host \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` must show ${fp}`,
      });
    case 'mismatch': {
      const old = check.knownKeyBase64 ? fingerprintSha256(check.knownKeyBase64) : '?';
      // StrictHostKeyChecking no lets OpenSSH go on with a changed key; routegen never does.
      const strictNo = target.strictHostKeyChecking === 'no' ? ' (routegen does not follow StrictHostKeyChecking no past a changed key)' : '';
      return new RemoteError(
        `HOST KEY CHANGED for ${name}: server presented ${keyType} ${fp}, known_hosts has ${check.knownTypes.join(', ')} ${old} at ${check.matchedAt}; refusing to connect${strictNo}`,
        {
          kind: 'hostkey', step, host,
          hint: `someone may be intercepting the connection, or the host was reinstalled. If you have verified the new key out of band, remove the old one (\`ssh-keygen -R '${name}'${check.matchedAt ? ` -f ${check.matchedAt.replace(/:\d+$/, '')}` : ''}\`) and connect again`,
        },
      );
    }
    default: {
      const where = files.length > 0 ? files.map((f) => f.path).join(', ') : target.knownHostsFiles.join(', ') || 'no known_hosts file';
      return new RemoteError(`host key of ${name} is not known (${keyType} ${fp}; looked in ${where}); refusing to connect`, {
        kind: 'hostkey', step, host,
        hint: `compare ${fp} with the host's own key (on the host: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then ssh to it once to record it, or run routegen with --accept-new`,
      });
    }
  }
}

/**
 * Reads the target's known_hosts files and builds the check ssh2 runs on the server's key:
 * a listed key passes; a changed or revoked one never does; an unknown one only when
 * `acceptNew`, and is then recorded (HashKnownHosts as configured) before authentication.
 */
export async function hostTrust(target: SshTarget, acceptNew: boolean): Promise<HostTrust> {
  const host = target.alias;
  const files = await readKnownHostsFiles(target);
  const name = target.hostKeyAlias ?? hostKeyName(target.hostname, target.port);
  const knownTypes = knownKeyTypes(files, name);
  const algos = hostKeyAlgorithmsFor(knownTypes).filter((a) => SSH2_HOST_KEY_ALGOS.has(a));
  if (knownTypes.length > 0 && algos.length === 0) {
    throw new RemoteError(`known_hosts lists only ${knownTypes.join(', ')} keys for ${name}, which routegen cannot verify`, {
      kind: 'hostkey', step: 'verify host key', host,
      hint: 'record an ed25519, ecdsa or rsa host key for it (ssh-keyscan -t ed25519, checked out of band)',
    });
  }
  let refused: RemoteError | undefined;
  let accepted: { file: string; fingerprint: string } | undefined;
  const hostVerifier = (key: Buffer, verify: (ok: boolean) => void): void => {
    const keyType = keyTypeOfBlob(key) ?? 'unknown';
    const keyB64 = key.toString('base64');
    const check = checkHostKey(files, name, keyType, keyB64);
    if (check.verdict === 'match') return verify(true);
    if (check.verdict !== 'unknown' || !acceptNew) {
      refused = hostKeyError(target, name, keyType, keyB64, check, files);
      return verify(false);
    }
    const file = target.knownHostsFiles[0];
    if (file === undefined || file === '/dev/null') {
      // OpenSSH would "record" the key in /dev/null and so trust any key, every time.
      refused = new RemoteError(`cannot accept the new host key of ${name}: ${file === undefined ? 'no UserKnownHostsFile to record it in' : 'UserKnownHostsFile is /dev/null, where an accepted key is forgotten at once (every connection would trust whatever key it is shown)'}; refusing to connect`, {
        kind: 'hostkey', step: 'verify host key', host,
        hint: `point UserKnownHostsFile at a real file for ${target.alias}, or record its key there yourself (ssh-keyscan -p ${target.port} ${target.hostname}, checked out of band)`,
      });
      return verify(false);
    }
    // Like ssh's accept-new: recorded as soon as the key is seen, before authentication.
    appendKnownHost(file, name, keyType, keyB64, { hash: target.hashKnownHosts }).then(
      () => {
        accepted = { file, fingerprint: fingerprintSha256(keyB64) };
        verify(true);
      },
      (err: Error) => {
        refused = new RemoteError(`cannot record the host key of ${name} in ${file}: ${err.message}`, { kind: 'hostkey', step: 'verify host key', host, cause: err });
        verify(false);
      },
    );
  };
  return {
    name,
    knownTypes,
    hostVerifier,
    ...(algos.length > 0 && { algorithms: { serverHostKey: algos as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } }),
    refused: () => refused,
    accepted: () => accepted,
  };
}
