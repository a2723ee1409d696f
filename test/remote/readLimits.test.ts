/**
 * What routegen reads from a host is bounded: files over SFTP and command output, against a real
 * OpenSSH server (test/helpers/sshd.ts) on 127.0.0.1. Files live in the server's temp dir.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RemoteError, RemoteHost } from '../../src/remote/connection.js';
import { MAX_COMMAND_OUTPUT_BYTES, MAX_REMOTE_FILE_BYTES } from '../../src/remote/limits.js';
import { resolveSshTarget } from '../../src/remote/sshConfig.js';
import { requireSshd, startSshd, type TestSshd } from '../helpers/sshd.js';

const ctx = { sshd: undefined as unknown as TestSshd, host: undefined as unknown as RemoteHost };

async function remoteError(p: Promise<unknown>): Promise<RemoteError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RemoteError) return err;
    throw err;
  }
  throw new Error('expected a RemoteError');
}

if (requireSshd('remote/readLimits')) {
  const s = suite('reads from a host are bounded');
  s.before(async () => {
    ctx.sshd = await startSshd();
    const target = await resolveSshTarget(ctx.sshd.alias, { configFile: ctx.sshd.sshConfigFile });
    ctx.host = await RemoteHost.connect({ target, agentSocket: '' });
  });
  s.after(async () => {
    await ctx.host?.close();
    await ctx.sshd.stop();
  });

  s('a file of exactly the limit is read whole; one byte more is refused with a clear error', async () => {
    const exact = join(ctx.sshd.dir, 'exact.conf');
    const over = join(ctx.sshd.dir, 'oversized.conf');
    writeFileSync(exact, Buffer.alloc(MAX_REMOTE_FILE_BYTES, 0x61));
    writeFileSync(over, Buffer.alloc(MAX_REMOTE_FILE_BYTES + 1, 0x61));
    const got = await ctx.host.readFile(exact);
    assert.is(got?.length, MAX_REMOTE_FILE_BYTES);
    const e = await remoteError(ctx.host.readFile(over));
    assert.is(e.kind, 'sftp');
    assert.is(e.message, `read ${over}: the file is larger than 1 MiB, which no network configuration is; routegen read no further`);
    assert.match(e.hint ?? '', `look at ${over} on the host`);
    // Small, empty and missing files are read as before, on the same connection.
    writeFileSync(join(ctx.sshd.dir, 'small.conf'), '[Route]\n');
    assert.is((await ctx.host.readFile(join(ctx.sshd.dir, 'small.conf')))?.toString(), '[Route]\n');
    writeFileSync(join(ctx.sshd.dir, 'empty.conf'), '');
    assert.is((await ctx.host.readFile(join(ctx.sshd.dir, 'empty.conf')))?.length, 0);
    assert.is(await ctx.host.readFile(join(ctx.sshd.dir, 'missing.conf')), null);
  });

  s('command output past the limit fails that command; the connection stays usable', async () => {
    const n = String(MAX_COMMAND_OUTPUT_BYTES + 65536);
    const e = await remoteError(ctx.host.exec(['head', '-c', n, '/dev/zero']));
    assert.is(e.kind, 'command');
    assert.match(e.message, 'the host printed more than 8 MiB, which no command routegen runs does; routegen read no further');
    const errFlood = await remoteError(ctx.host.execScript('head -c "$1" /dev/zero >&2', [n]));
    assert.match(errFlood.message, 'more than 8 MiB');
    const ok = await ctx.host.exec(['head', '-c', '1000', '/dev/zero']);
    assert.is(ok.code, 0);
    assert.is(ok.stdout.length, 1000);
  });

  s.run();
}
