/**
 * Which host keys routegen trusts, against a real OpenSSH server (test/helpers/sshd.ts) on
 * 127.0.0.1: StrictHostKeyChecking from ssh_config as OpenSSH users expect it, and hosts known
 * only through a @cert-authority line failing closed.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RemoteError, RemoteHost, type ConnectOptions } from '../../src/remote/connection.js';
import { resolveSshTarget, type SshTarget } from '../../src/remote/sshConfig.js';
import { requireSshd, startSshd, type TestSshd } from '../helpers/sshd.js';

const ctx = { sshd: undefined as unknown as TestSshd, target: undefined as unknown as SshTarget };

function opts(over: Partial<SshTarget>, more: Partial<ConnectOptions> = {}): ConnectOptions {
  return { target: { ...ctx.target, ...over }, agentSocket: '', ...more };
}

async function refused(p: Promise<RemoteHost>): Promise<RemoteError> {
  try {
    const h = await p;
    await h.close();
  } catch (err) {
    if (err instanceof RemoteError) return err;
    throw err;
  }
  throw new Error('expected the connection to be refused');
}

/** Another ed25519 public key (base64), not the server's. */
function otherKey(): string {
  const path = join(ctx.sshd.dir, `other-${Date.now()}`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path], { stdio: 'ignore' });
  return readFileSync(`${path}.pub`, 'utf8').split(' ')[1]!;
}

if (requireSshd('remote/hostTrust')) {
  const s = suite('host trust');
  s.before(async () => {
    ctx.sshd = await startSshd();
    ctx.target = await resolveSshTarget(ctx.sshd.alias, { configFile: ctx.sshd.sshConfigFile });
  });
  s.after(async () => {
    await ctx.sshd.stop();
  });

  s('a host known only through @cert-authority is refused, even with --accept-new, and nothing is recorded', async () => {
    const kh = join(ctx.sshd.dir, 'kh-ca');
    const text = `@cert-authority [127.0.0.1]:* ssh-ed25519 ${otherKey()}\n`;
    writeFileSync(kh, text);
    const e = await refused(RemoteHost.connect(opts({ knownHostsFiles: [kh] }, { acceptNew: true })));
    assert.is(e.kind, 'hostkey');
    assert.match(e.message, `[127.0.0.1]:${ctx.sshd.port} is known only through a host certificate authority (@cert-authority at ${kh}:1)`);
    assert.match(e.message, 'refusing to connect (--accept-new does not apply)');
    assert.match(e.hint ?? '', 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub');
    assert.is(readFileSync(kh, 'utf8'), text, 'known_hosts untouched');
    // The same with StrictHostKeyChecking accept-new from ssh_config.
    const e2 = await refused(RemoteHost.connect(opts({ knownHostsFiles: [kh], strictHostKeyChecking: 'accept-new' })));
    assert.match(e2.message, 'host certificate authority');
    // With the host's own key beside the CA line, it connects.
    writeFileSync(kh, `${text}[127.0.0.1]:${ctx.sshd.port} ssh-ed25519 ${ctx.sshd.hostKeyBase64}\n`);
    const h = await RemoteHost.connect(opts({ knownHostsFiles: [kh] }));
    await h.close();
  });

  s('StrictHostKeyChecking no: an unknown key is accepted and recorded (as accept-new), a changed key is refused', async () => {
    const kh = join(ctx.sshd.dir, 'kh-no');
    writeFileSync(kh, '');
    const h = await RemoteHost.connect(opts({ knownHostsFiles: [kh], strictHostKeyChecking: 'no' }));
    assert.is(h.acceptedKey?.file, kh);
    await h.close();
    assert.match(readFileSync(kh, 'utf8'), `[127.0.0.1]:${ctx.sshd.port} ssh-ed25519 ${ctx.sshd.hostKeyBase64}`);
    // Changed: ssh with StrictHostKeyChecking no would go on; routegen does not.
    writeFileSync(kh, `[127.0.0.1]:${ctx.sshd.port} ssh-ed25519 ${otherKey()}\n`);
    const e = await refused(RemoteHost.connect(opts({ knownHostsFiles: [kh], strictHostKeyChecking: 'no' })));
    assert.is(e.kind, 'hostkey');
    assert.match(e.message, 'HOST KEY CHANGED');
    assert.match(e.message, 'routegen does not follow StrictHostKeyChecking no past a changed key');
  });

  s('StrictHostKeyChecking yes or ask (the default): an unknown key is refused unless --accept-new', async () => {
    for (const strict of ['yes', 'ask'] as const) {
      const kh = join(ctx.sshd.dir, `kh-${strict}`);
      writeFileSync(kh, '');
      const e = await refused(RemoteHost.connect(opts({ knownHostsFiles: [kh], strictHostKeyChecking: strict })));
      assert.match(e.message, 'is not known');
      assert.is(readFileSync(kh, 'utf8'), '');
      const h = await RemoteHost.connect(opts({ knownHostsFiles: [kh], strictHostKeyChecking: strict }, { acceptNew: true }));
      await h.close();
      assert.match(readFileSync(kh, 'utf8'), ctx.sshd.hostKeyBase64);
    }
  });

  s.run();
}
