/**
 * OpenSSH known_hosts: parsing and host key checking, as `ssh` does it
 * (hostfile.c / match.c in OpenSSH 9.2). Pure apart from `appendKnownHost`.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface KnownHostsFile {
  path: string;
  text: string;
}

export type HostKeyVerdict = 'match' | 'mismatch' | 'unknown' | 'revoked' | 'cert-authority';

export interface HostKeyCheck {
  /**
   * match: this key is listed for the host. mismatch: the host is listed with other keys only
   * (a changed key, or a key of a type known_hosts does not list for it). unknown: the host is
   * not listed at all. revoked: a matching `@revoked` line lists this key. cert-authority: the
   * host is listed only by `@cert-authority` lines — it expects to be trusted through a host
   * certificate, which routegen cannot verify: refused, never taken for unknown (accept-new).
   */
  verdict: HostKeyVerdict;
  /** Key types listed (not revoked) for the host, in file order, without duplicates. */
  knownTypes: string[];
  /** `file:line` of the matching line; for a mismatch, the line listing the old key. */
  matchedAt?: string;
  /** For a mismatch: the base64 key known_hosts lists at `matchedAt`. */
  knownKeyBase64?: string;
}

interface Entry {
  marker: 'revoked' | 'cert-authority' | undefined;
  hosts: string;
  keyType: string;
  key: Buffer;
  keyBase64: string;
  at: string;
}

const HASH_MAGIC = '|1|';

/** The name OpenSSH looks up in known_hosts: `host` on port 22, else `[host]:port`. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `SHA256:<base64 without padding>` of a key blob, as `ssh-keygen -lf` prints it. */
export function fingerprintSha256(keyBase64: string): string {
  const digest = createHash('sha256').update(Buffer.from(keyBase64, 'base64')).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}

/** The key type recorded inside an SSH public key blob (`ssh-ed25519`, `ssh-rsa`, ...). */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/**
 * OpenSSH's match_pattern: `*` any run of characters, `?` one character, everything else
 * literal. Iterative with a single backtrack point, so no pattern can make it slow.
 */
export function matchPattern(name: string, pattern: string): boolean {
  let n = 0;
  let p = 0;
  let starP = -1;
  let starN = 0;
  while (n < name.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starN = n;
    } else if (pc !== undefined && (pc === '?' || pc === name[n])) {
      p++;
      n++;
    } else if (starP >= 0) {
      p = starP + 1;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * OpenSSH's match_hostname on a comma list: a matching `!pattern` excludes the host whatever
 * else matches; otherwise one positive match is enough. Case-insensitive.
 */
export function matchHostList(host: string, patternList: string): boolean {
  const name = host.toLowerCase();
  let positive = false;
  for (const raw of patternList.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (pattern === '') continue;
    if (matchPattern(name, pattern)) {
      if (negated) return false;
      positive = true;
    }
  }
  return positive;
}

function matchHashed(host: string, field: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(key = salt, data = host))
  const parts = field.slice(HASH_MAGIC.length).split('|');
  if (parts.length !== 2) return false;
  const salt = Buffer.from(parts[0]!, 'base64');
  const want = Buffer.from(parts[1]!, 'base64');
  if (salt.length !== 20 || want.length !== 20) return false;
  const got = createHmac('sha1', salt).update(host.toLowerCase()).digest();
  return timingSafeEqual(got, want);
}

function hostMatches(host: string, field: string): boolean {
  return field.startsWith(HASH_MAGIC) ? matchHashed(host, field) : matchHostList(host, field);
}

/** Every usable line of one known_hosts file; malformed lines are skipped as ssh skips them. */
function parseKnownHosts(file: KnownHostsFile): Entry[] {
  const entries: Entry[] = [];
  const lines = file.text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/[ \t]+/);
    let marker: Entry['marker'];
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue; // unknown marker
    }
    const [hosts, keyType, keyBase64] = fields;
    if (hosts === undefined || keyType === undefined || keyBase64 === undefined) continue;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyBase64)) continue; // also drops the old RSA1 form
    const key = Buffer.from(keyBase64, 'base64');
    // The type inside the blob is the truth; a line whose text type disagrees is corrupt.
    if (keyTypeOfBlob(key) !== keyType) continue;
    entries.push({ marker, hosts, keyType, key, keyBase64, at: `${file.path}:${i + 1}` });
  }
  return entries;
}

function entriesFor(files: KnownHostsFile[], hostName: string): Entry[] {
  return files.flatMap((f) => parseKnownHosts(f)).filter((e) => hostMatches(hostName, e.hosts));
}

function uniqueTypes(entries: Entry[]): string[] {
  return [...new Set(entries.filter((e) => e.marker === undefined).map((e) => e.keyType))];
}

/**
 * Checks the key a server presented against known_hosts files, in order.
 * `hostPatternName` is what OpenSSH looks up: `hostKeyName(host, port)`, or the HostKeyAlias.
 * Stricter than ssh on one point: a host listed only with keys of other types is a
 * `mismatch`, not `unknown`, so accept-new never adds a second key to a host already known.
 */
export function checkHostKey(
  files: KnownHostsFile[],
  hostPatternName: string,
  keyType: string,
  keyBase64: string,
): HostKeyCheck {
  const offered = Buffer.from(keyBase64, 'base64');
  const entries = entriesFor(files, hostPatternName);
  const knownTypes = uniqueTypes(entries);
  const same = (e: Entry) => e.key.equals(offered);
  const revoked = entries.find((e) => e.marker === 'revoked' && same(e));
  if (revoked) return { verdict: 'revoked', knownTypes, matchedAt: revoked.at };
  const valid = entries.filter((e) => e.marker === undefined);
  const hit = valid.find(same);
  if (hit) return { verdict: 'match', knownTypes, matchedAt: hit.at };
  if (valid.length > 0) {
    const old = valid.find((e) => e.keyType === keyType) ?? valid[0]!;
    return { verdict: 'mismatch', knownTypes, matchedAt: old.at, knownKeyBase64: old.keyBase64 };
  }
  // ssh2 cannot check host certificates: a host its owner vouches for through a CA must not
  // fall through to "unknown" and be trusted on first use.
  const ca = entries.find((e) => e.marker === 'cert-authority');
  if (ca) return { verdict: 'cert-authority', knownTypes, matchedAt: ca.at };
  return { verdict: 'unknown', knownTypes };
}

/** Key types known_hosts lists (not revoked) for `hostPatternName`. */
export function knownKeyTypes(files: KnownHostsFile[], hostPatternName: string): string[] {
  return uniqueTypes(entriesFor(files, hostPatternName));
}

/**
 * Host key algorithms (ssh2's `algorithms.serverHostKey`) that can present a key of the given
 * types: an `ssh-rsa` key is signed with rsa-sha2-512/256 or the old ssh-rsa.
 */
export function hostKeyAlgorithmsFor(keyTypes: string[]): string[] {
  const algos = keyTypes.flatMap((t) =>
    t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t],
  );
  return [...new Set(algos)];
}

/** A known_hosts line for `name`, hashed as `HashKnownHosts yes` writes it when `hash`. */
function knownHostsLine(
  name: string,
  keyType: string,
  keyBase64: string,
  hash = false,
): string {
  let host = name;
  if (hash) {
    const salt = randomBytes(20);
    const mac = createHmac('sha1', salt).update(name.toLowerCase()).digest();
    host = `${HASH_MAGIC}${salt.toString('base64')}|${mac.toString('base64')}`;
  }
  return `${host} ${keyType} ${keyBase64}\n`;
}

/**
 * Appends a key for `name` (accept-new). Creates the directory 0700 and the file 0600 when
 * missing; O_APPEND, so a concurrent ssh or routegen writing the same file loses nothing.
 */
export async function appendKnownHost(
  path: string,
  name: string,
  keyType: string,
  keyBase64: string,
  opts: { hash?: boolean } = {},
): Promise<void> {
  if (!/^[a-z0-9@.-]+$/.test(keyType) || !/^[A-Za-z0-9+/]+={0,2}$/.test(keyBase64)) {
    throw new Error(`refusing to write a malformed key to ${path}`);
  }
  if (/[\s#]/.test(name) || name === '') throw new Error(`refusing to write host name ${JSON.stringify(name)}`);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const fh = await open(path, 'a+', 0o600);
  try {
    const { size } = await fh.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await fh.appendFile(prefix + knownHostsLine(name, keyType, keyBase64, opts.hash));
  } finally {
    await fh.close();
  }
}
