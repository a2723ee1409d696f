import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  hostKeyAlgorithmsFor,
  hostKeyName,
  keyTypeOfBlob,
  knownKeyTypes,
  matchHostList,
  matchPattern,
} from '../../src/remote/knownHosts.js';

/** A syntactically valid SSH public key blob of `type` (content is irrelevant to matching). */
function blob(type: string, fill: number): string {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  const body = Buffer.alloc(36, fill);
  body.writeUInt32BE(32, 0);
  return Buffer.concat([len, t, body]).toString('base64');
}

const ED_A = blob('ssh-ed25519', 1);
const ED_B = blob('ssh-ed25519', 2);
const RSA_A = blob('ssh-rsa', 3);
const ECDSA_A = blob('ecdsa-sha2-nistp256', 4);

const file = (text: string, path = 'kh') => [{ path, text }];

function hasKeygen(): boolean {
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

const patterns = suite('knownHosts: patterns');

patterns('matchPattern: * and ? like OpenSSH', () => {
  assert.ok(matchPattern('node-0.example.com', '*.example.com'));
  assert.ok(matchPattern('node-0', 'node-?'));
  assert.not.ok(matchPattern('node-10', 'node-?'));
  assert.ok(matchPattern('anything', '*'));
  assert.ok(matchPattern('a.b.c', '*.*'));
  assert.not.ok(matchPattern('example.com', '*.example.com'));
  assert.ok(matchPattern('[192.0.2.1]:2222', '[192.0.2.*]:2222'));
  assert.not.ok(matchPattern('[192.0.2.1]:2223', '[192.0.2.*]:2222'));
  // Pathological patterns stay linear-ish.
  assert.not.ok(matchPattern('a'.repeat(5000), `${'*a'.repeat(50)}b`));
});

patterns('matchHostList: comma lists, negation wins, case-insensitive', () => {
  assert.ok(matchHostList('node-1', 'node-0,node-1'));
  assert.ok(matchHostList('NODE-1', 'node-1'));
  assert.ok(matchHostList('a.example.com', '*.example.com,!bad.example.com'));
  assert.not.ok(matchHostList('bad.example.com', '*.example.com,!bad.example.com'));
  assert.not.ok(matchHostList('bad.example.com', '!bad.example.com,*.example.com'));
  assert.not.ok(matchHostList('other', '!bad'), 'a negation alone matches nothing');
});

patterns('hostKeyName and fingerprint', () => {
  assert.is(hostKeyName('192.0.2.10', 22), '192.0.2.10');
  assert.is(hostKeyName('192.0.2.10', 2222), '[192.0.2.10]:2222');
  assert.is(hostKeyName('2001:db8::1', 2222), '[2001:db8::1]:2222');
  assert.is(keyTypeOfBlob(Buffer.from(ED_A, 'base64')), 'ssh-ed25519');
  assert.match(fingerprintSha256(ED_A), /^SHA256:[A-Za-z0-9+/]{43}$/);
});

patterns('hostKeyAlgorithmsFor maps ssh-rsa to its signature algorithms', () => {
  assert.equal(hostKeyAlgorithmsFor(['ssh-ed25519', 'ssh-rsa']), ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  assert.equal(hostKeyAlgorithmsFor([]), []);
});

patterns.run();

const check = suite('knownHosts: checkHostKey');

check('plain entry: match, with file:line', () => {
  const text = `# comment\n\nnode-0,192.0.2.10 ssh-ed25519 ${ED_A} root@node-0\n`;
  const r = checkHostKey(file(text), '192.0.2.10', 'ssh-ed25519', ED_A);
  assert.is(r.verdict, 'match');
  assert.is(r.matchedAt, 'kh:3');
  assert.equal(r.knownTypes, ['ssh-ed25519']);
});

check('pattern entry matches; negation excludes', () => {
  const text = `*.example.com,!bad.example.com ssh-ed25519 ${ED_A}\n`;
  assert.is(checkHostKey(file(text), 'node-1.example.com', 'ssh-ed25519', ED_A).verdict, 'match');
  assert.is(checkHostKey(file(text), 'bad.example.com', 'ssh-ed25519', ED_A).verdict, 'unknown');
});

check('a changed key is a mismatch naming the old line', () => {
  const text = `192.0.2.10 ssh-rsa ${RSA_A}\n192.0.2.10 ssh-ed25519 ${ED_A}\n`;
  const r = checkHostKey(file(text), '192.0.2.10', 'ssh-ed25519', ED_B);
  assert.is(r.verdict, 'mismatch');
  assert.is(r.matchedAt, 'kh:2');
  assert.is(r.knownKeyBase64, ED_A);
  assert.equal(r.knownTypes, ['ssh-rsa', 'ssh-ed25519']);
});

check('a known host offering a key of an unlisted type is a mismatch, never unknown', () => {
  const r = checkHostKey(file(`192.0.2.10 ssh-rsa ${RSA_A}\n`), '192.0.2.10', 'ssh-ed25519', ED_A);
  assert.is(r.verdict, 'mismatch');
});

check('[host]:port entries only match that port', () => {
  const text = `[192.0.2.10]:2222 ssh-ed25519 ${ED_A}\n`;
  assert.is(checkHostKey(file(text), '[192.0.2.10]:2222', 'ssh-ed25519', ED_A).verdict, 'match');
  assert.is(checkHostKey(file(text), '192.0.2.10', 'ssh-ed25519', ED_A).verdict, 'unknown');
  assert.is(checkHostKey(file(text), '[192.0.2.10]:2223', 'ssh-ed25519', ED_A).verdict, 'unknown');
});

check('@revoked refuses the key even when another line lists it', () => {
  const text = `192.0.2.10 ssh-ed25519 ${ED_A}\n@revoked * ssh-ed25519 ${ED_A}\n`;
  const r = checkHostKey(file(text), '192.0.2.10', 'ssh-ed25519', ED_A);
  assert.is(r.verdict, 'revoked');
  assert.is(r.matchedAt, 'kh:2');
  // Another key of the same host is unaffected.
  const text2 = `192.0.2.10 ssh-ed25519 ${ED_B}\n@revoked * ssh-ed25519 ${ED_A}\n`;
  assert.is(checkHostKey(file(text2), '192.0.2.10', 'ssh-ed25519', ED_B).verdict, 'match');
});

check('a host listed only by @cert-authority is refused (cert-authority), never unknown', () => {
  const text = `@cert-authority *.example.com ssh-ed25519 ${ED_A}\n`;
  const r = checkHostKey(file(text), 'node.example.com', 'ssh-ed25519', ED_B);
  assert.is(r.verdict, 'cert-authority');
  assert.is(r.matchedAt, 'kh:1');
  assert.equal(knownKeyTypes(file(text), 'node.example.com'), []);
  // A plain line for the host decides as before: the CA line plays no part.
  const both = `${text}node.example.com ssh-ed25519 ${ED_B}\n`;
  assert.is(checkHostKey(file(both), 'node.example.com', 'ssh-ed25519', ED_B).verdict, 'match');
  assert.is(checkHostKey(file(both), 'node.example.com', 'ssh-ed25519', ED_A).verdict, 'mismatch');
  // Hosts the CA pattern does not cover stay unknown.
  assert.is(checkHostKey(file(text), 'other.test', 'ssh-ed25519', ED_B).verdict, 'unknown');
});

check('@cert-authority lines for other hosts, malformed and RSA1 lines are ignored', () => {
  const text = [
    `@cert-authority *.example.com ssh-ed25519 ${ED_A}`,
    '192.0.2.10 1024 65537 12345678901234567890',
    '192.0.2.10 ssh-ed25519',
    `192.0.2.10 ssh-rsa ${ED_A}`, // text type disagrees with the blob
    '@bogus 192.0.2.10 ssh-ed25519 AAAA',
  ].join('\n');
  assert.is(checkHostKey(file(text), '192.0.2.10', 'ssh-ed25519', ED_A).verdict, 'unknown');
});

check('several files are searched in order', () => {
  const files = [
    { path: 'user', text: '' },
    { path: 'global', text: `192.0.2.10 ecdsa-sha2-nistp256 ${ECDSA_A}\n` },
  ];
  const r = checkHostKey(files, '192.0.2.10', 'ecdsa-sha2-nistp256', ECDSA_A);
  assert.is(r.verdict, 'match');
  assert.is(r.matchedAt, 'global:1');
  assert.equal(knownKeyTypes(files, '192.0.2.10'), ['ecdsa-sha2-nistp256']);
});

check('knownKeyTypes leaves out revoked keys', () => {
  const text = `@revoked 192.0.2.10 ssh-rsa ${RSA_A}\n192.0.2.10 ssh-ed25519 ${ED_A}\n`;
  assert.equal(knownKeyTypes(file(text), '192.0.2.10'), ['ssh-ed25519']);
});

check.run();

const real = suite('knownHosts: against ssh-keygen');
let dir = '';
real.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'routegen-kh-'));
});
real.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

if (!hasKeygen()) {
  if (process.env.CI) throw new Error('knownHosts tests: ssh-keygen not found in CI (install openssh-client)');
  process.stderr.write('\n*** SKIPPED: knownHosts against ssh-keygen: ssh-keygen not found (install openssh-client) ***\n\n');
} else {
  real('entries hashed by `ssh-keygen -H` match, plain and [host]:port', () => {
    const path = join(dir, 'hashed');
    writeFileSync(path, `node-0.example.com ssh-ed25519 ${ED_A}\n[192.0.2.10]:2222 ssh-ed25519 ${ED_B}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', path], { stdio: 'ignore' });
    const text = readFileSync(path, 'utf8');
    assert.not.match(text, /example|192\.0\.2/, 'ssh-keygen hashed the names');
    assert.match(text, /^\|1\|/);
    const files = [{ path, text }];
    assert.is(checkHostKey(files, 'node-0.example.com', 'ssh-ed25519', ED_A).verdict, 'match');
    assert.is(checkHostKey(files, 'NODE-0.example.com', 'ssh-ed25519', ED_A).verdict, 'match');
    assert.is(checkHostKey(files, '[192.0.2.10]:2222', 'ssh-ed25519', ED_B).verdict, 'match');
    assert.is(checkHostKey(files, '[192.0.2.10]:2222', 'ssh-ed25519', ED_A).verdict, 'mismatch');
    assert.is(checkHostKey(files, '192.0.2.10', 'ssh-ed25519', ED_B).verdict, 'unknown');
  });

  real('fingerprintSha256 equals ssh-keygen -lf', () => {
    const key = join(dir, 'k');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'ignore' });
    const pub = readFileSync(`${key}.pub`, 'utf8').split(' ');
    const printed = execFileSync('ssh-keygen', ['-lf', `${key}.pub`]).toString().split(' ')[1];
    assert.is(fingerprintSha256(pub[1]!), printed);
  });

  real('appendKnownHost creates dir 0700 and file 0600; ssh-keygen -F finds plain and hashed lines', async () => {
    const path = join(dir, 'new', 'sub', 'known_hosts');
    await appendKnownHost(path, '[192.0.2.10]:2222', 'ssh-ed25519', ED_A);
    assert.is(statSync(join(dir, 'new', 'sub')).mode & 0o777, 0o700);
    assert.is(statSync(path).mode & 0o777, 0o600);
    // A file without a final newline gets one before the new line.
    writeFileSync(path, readFileSync(path, 'utf8').trimEnd(), { mode: 0o600 });
    await appendKnownHost(path, 'node-1.example.com', 'ssh-ed25519', ED_B, { hash: true });
    const text = readFileSync(path, 'utf8');
    assert.is(text.split('\n').length, 3);
    assert.match(text.split('\n')[1]!, /^\|1\|[^ ]+ ssh-ed25519 /);
    for (const name of ['[192.0.2.10]:2222', 'node-1.example.com']) {
      const found = execFileSync('ssh-keygen', ['-F', name, '-f', path]).toString();
      assert.match(found, /ssh-ed25519/, `ssh-keygen -F ${name}`);
    }
    assert.is(checkHostKey([{ path, text }], 'node-1.example.com', 'ssh-ed25519', ED_B).verdict, 'match');
  });

  real('appendKnownHost refuses names that would corrupt the file', async () => {
    const path = join(dir, 'bad');
    for (const [name, key] of [['a b', ED_A], ['ok', `${ED_A}\nevil ssh-ed25519 ${ED_B}`]] as const) {
      let threw = false;
      try {
        await appendKnownHost(path, name, 'ssh-ed25519', key);
      } catch {
        threw = true;
      }
      assert.ok(threw, JSON.stringify(name));
    }
    assert.throws(() => statSync(path), 'nothing was written');
  });
}

real.run();
