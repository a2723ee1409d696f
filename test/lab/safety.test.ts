/**
 * Safe apply under faults, on the namespace lab with real sshd and systemd-networkd: routegen
 * killed in the middle of a push, a host's sshd dying between apply and confirm, a full or
 * read-only target directory, and failures at random steps across 30 hosts. Each test ends with
 * every host consistent: its file and its kernel routes both match the new plan, or both are as
 * they were.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'uvu/assert';
import { requireLab, type Lab } from './lab.js';
import { seconds, waitFor } from '../helpers/time.js';
import { jumpboxRoutegen, labSuite, needLab, routegenArgv } from './suite.js';

const DROPIN = '/etc/systemd/network/10-eth1.network.d/60-routegen-pod-routes.conf';
const KEY = 'etc%systemd%network%10-eth1.network.d%60-routegen-pod-routes.conf';
const STACK = ['--stack', 'networkd', '--interface', 'eth1'];

const need = needLab;
const routegen = (lab: Lab, args: string[]) => jumpboxRoutegen(lab, args);

/** The routes a networkd drop-in of routegen's asks for, as "dst via gw metric m". */
function fileRoutes(text: string | null): string[] {
  if (text === null) return [];
  return text
    .split(/^\[Route\]$/m)
    .slice(1)
    .map((sec) => {
      const get = (k: string) => sec.match(new RegExp(`^${k}=(.*)$`, 'm'))?.[1];
      return `${get('Destination')} via ${get('Gateway')} metric ${get('Metric') ?? '0'}`;
    })
    .sort();
}

/** The kernel's routes via eth1 gateways, in the same form. */
async function kernelRoutes(lab: Lab, host: string): Promise<string[]> {
  return (await lab.routes(host))
    .filter((r) => r.gateway && r.dev === 'eth1')
    .map((r) => `${r.dst} via ${r.gateway} metric ${r.metric ?? 0}`)
    .sort();
}

/**
 * Every host consistent: file and kernel agree, and the file is either the old or the new one.
 * Returns which hosts ended up on the new plan.
 */
async function assertConsistent(lab: Lab, oldText: Map<string, string | null>, newMetric: string, opts: { killed?: boolean } = {}): Promise<{ updated: string[]; kept: string[] }> {
  // The hosts are checked side by side (each check starts processes: 30 in a row take seconds).
  const isKept = await Promise.all(
    lab.hosts.map(async (h) => {
      const text = await lab.readFile(h.name, DROPIN);
      const want = fileRoutes(text);
      assert.equal(await kernelRoutes(lab, h.name), want, `${h.name}: kernel and file disagree`);
      if (text !== oldText.get(h.name)) {
        assert.ok(want.length > 0 && want.every((r) => r.endsWith(`metric ${newMetric}`)), `${h.name}: neither the old nor the new file:\n${text}`);
      }
      // Nothing half-done left behind. A routegen killed between uploading and committing cannot
      // clean up after itself: its temp or staged file may stay until the next push removes it,
      // but only under a name networkd ignores (hidden, not *.conf).
      const dir = path.posix.dirname(DROPIN);
      const listing = await lab.exec(h.name, ['ls', '-A', dir]);
      const others = listing.stdout.trim().split('\n').filter((n) => n !== '60-routegen-pod-routes.conf');
      if (opts.killed) assert.ok(others.every((n) => /^\.(routegen-[0-9a-f]+\.tmp|60-routegen-pod-routes\.conf\.routegen-new)$/.test(n)), `${h.name}: leftovers networkd could read in ${dir}: ${others}`);
      else assert.equal(others, [], `${h.name}: leftovers in ${dir}`);
      return text === oldText.get(h.name);
    }),
  );
  const names = lab.hosts.map((h) => h.name);
  return { updated: names.filter((_, i) => !isKept[i]), kept: names.filter((_, i) => isKept[i]) };
}

async function snapshot(lab: Lab): Promise<Map<string, string | null>> {
  const m = new Map<string, string | null>();
  for (const h of lab.hosts) m.set(h.name, await lab.readFile(h.name, DROPIN));
  return m;
}

/** A host's armed-rollback marker, as this machine sees the host's file system. */
function armed(h: { pid: number }): boolean {
  return fs.existsSync(`/proc/${h.pid}/root/var/lib/routegen/${KEY}.pending`) || fs.existsSync(`/proc/${h.pid}/root/var/lib/routegen/${KEY}.restoring`);
}

/** Waits until no host has an armed rollback left (they fire after the confirm timeout). */
async function waitNoPending(lab: Lab, ms: number): Promise<void> {
  await waitFor('every armed host to roll back or be confirmed', () => !lab.hosts.some(armed), ms, 50).catch((e: Error) => {
    throw new Error(`${e.message}; still armed: ${lab.hosts.filter(armed).map((h) => h.name).join(', ')}`);
  });
}

/** Waits until some host is armed (its new file in place, not yet confirmed); returns its name. */
function firstArmed(lab: Lab): Promise<string> {
  return waitFor('a host to be armed', () => lab.hosts.find(armed)?.name, 60_000, 5);
}

/**
 * Waits until the process `pid` (routegen, in the jumpbox's namespace) has a TCP connection to
 * some host's port 22: the earliest moment it can be seen to reach a host. Its signal handlers
 * are in place before that, so from then on Ctrl-C must be handled as promised.
 */
function firstConnection(pid: number): Promise<true> {
  const ssh = (line: string) => {
    const [, , rem, st] = line.trim().split(/\s+/);
    return rem?.endsWith(':0016') && (st === '01' || st === '02'); // ESTABLISHED or SYN_SENT
  };
  return waitFor(
    'routegen to open its first SSH connection',
    () => {
      try {
        return fs.readFileSync(`/proc/${pid}/net/tcp`, 'latin1').split('\n').slice(1).some(ssh) || undefined;
      } catch {
        return undefined; // not started yet, or already gone (then the test's own checks fail)
      }
    },
    60_000,
    1,
  );
}

/** PIDs of the logged-in sshd sessions ("sshd: root@notty") in a lab host's network namespace. */
function sshSessions(h: { pid: number }): number[] {
  const ns = fs.readlinkSync(`/proc/${h.pid}/ns/net`);
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(d)) continue;
    try {
      if (/^sshd: [^\s/]+@/.test(fs.readFileSync(`/proc/${d}/cmdline`, 'latin1')) && fs.readlinkSync(`/proc/${d}/ns/net`) === ns) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** A routegen push spawned on the jumpbox, with its output collected and its exit awaited. */
function spawnPush(lab: Lab, args: string[]) {
  const child = lab.jumpboxSpawn(routegenArgv(lab, ['push', ...args]), { env: { NO_COLOR: '1' } });
  const io = { out: '', err: '' };
  child.stdout!.on('data', (d) => (io.out += d));
  child.stderr!.on('data', (d) => (io.err += d));
  const exited = new Promise<number>((res) => child.on('exit', (code) => res(code ?? -1)));
  return { child, io, exited };
}

if (requireLab()) {
  const s = labSuite('safe apply under faults (30 hosts, networkd)', { stack: 'networkd', workers: 29 });

  s('baseline push to 30 hosts', async (ctx) => {
    const lab = need(ctx);
    const r = await routegen(lab, ['push', '-i', ctx.inventory!, ...STACK, '--json']);
    assert.is(r.code, 0, r.stderr + r.stdout.slice(0, 3000));
    assert.ok(JSON.parse(r.stdout).hosts.every((h: { outcome: string }) => h.outcome === 'changed'));
    assert.is(lab.hosts.length, 30);
  });

  // Killed at three moments a push goes through: while it opens its first connections, and
  // once hosts are armed (their new file in place, the rollback timer running).
  const kills = [
    ['SIGKILL', 'as it opens its first connection', '101'],
    ['SIGKILL', 'once a host is armed', '102'],
    ['SIGTERM', 'once a host is armed', '103'],
  ] as const;
  for (const [signal, moment, metric] of kills) {
    s(`routegen killed with ${signal} ${moment}: every host consistent after the confirm timeout`, async (ctx) => {
      const lab = need(ctx);
      const old = await snapshot(lab);
      const confirm = seconds(5);
      const { child, io, exited } = spawnPush(lab, ['-i', ctx.inventory!, ...STACK, '--metric', metric, '--confirm-timeout', confirm]);
      if (moment === 'once a host is armed') await firstArmed(lab);
      else await firstConnection(child.pid!);
      child.kill(signal);
      const code = await exited;
      if (signal === 'SIGTERM') assert.is(code, 1, io.out + io.err); // handled like Ctrl-C
      await waitNoPending(lab, Number(confirm) * 1000 + 10_000);
      const { updated, kept } = await assertConsistent(lab, old, metric, { killed: signal === 'SIGKILL' });
      assert.is(updated.length + kept.length, 30);
      // Once things settle, a new push converges every host.
      const r = await routegen(lab, ['push', '-i', ctx.inventory!, ...STACK, '--metric', metric]);
      assert.is(r.code, 0, r.stdout + r.stderr);
      const after = await assertConsistent(lab, await snapshot(lab), metric);
      assert.is(after.kept.length, 30);
      for (const h of lab.hosts) assert.ok((await kernelRoutes(lab, h.name)).every((x) => x.endsWith(`metric ${metric}`)));
    });
  }

  s('Ctrl-C (SIGINT) as soon as routegen reaches its first host: handled, not fatal; no new host starts, exit 1', async (ctx) => {
    const lab = need(ctx);
    const old = await snapshot(lab);
    const { child, io, exited } = spawnPush(lab, ['-i', ctx.inventory!, ...STACK, '--metric', '104', '--parallel', '4']);
    await firstConnection(child.pid!);
    child.kill('SIGINT');
    const code = await exited;
    assert.is(code, 1, io.out + io.err);
    assert.match(io.err, 'Interrupted: no new hosts will start');
    assert.match(io.out, /Interrupted\.\s*$/);
    assert.match(io.out, 'not started: interrupted');
    const { kept } = await assertConsistent(lab, old, '104');
    assert.ok(kept.length >= 30 - 4, `at most the 4 hosts in flight changed; kept ${kept.length}`);
    assert.equal(lab.hosts.filter(armed).map((h) => h.name), []);
  });

  s('Ctrl-C (SIGINT) during a push: no new host starts, the ones in flight finish, the summary says so, exit 1', async (ctx) => {
    const lab = need(ctx);
    const old = await snapshot(lab);
    const { child, io, exited } = spawnPush(lab, ['-i', ctx.inventory!, ...STACK, '--metric', '105', '--parallel', '4']);
    // Off a terminal, routegen prints a line per finished host: "✓ node-3  changed  0.4s  (1/30)".
    await waitFor('the first finished host', () => / \(1\/30\)/.test(io.err), 120_000);
    child.kill('SIGINT');
    const code = await exited;
    assert.is(code, 1, io.out + io.err);
    assert.match(io.err, 'Interrupted: no new hosts will start');
    assert.match(io.out, /Interrupted\.\s*$/);
    assert.match(io.out, 'not started: interrupted');
    const { updated, kept } = await assertConsistent(lab, old, '105');
    assert.ok(updated.length >= 1 && kept.length >= 1, `updated ${updated.length}, kept ${kept.length}`);
    // nothing is left armed: the hosts in flight were confirmed (or rolled back) before exit
    assert.equal(lab.hosts.filter(armed).map((h) => h.name), []);
  });

  s("node-7's sshd stops accepting connections once routegen's session is in: its change cannot be confirmed, it rolls back by itself; the others are configured", async (ctx) => {
    const lab = need(ctx);
    const old = await snapshot(lab);
    const victim = lab.host('node-7');
    const { io, exited } = spawnPush(lab, ['-i', ctx.inventory!, ...STACK, '--metric', '110', '--confirm-timeout', seconds(4), '--rollback-grace', seconds(3)]);
    try {
      // Once routegen is logged in to node-7, its sshd listener dies: that session goes on
      // (upload, arm, apply, verify), but the confirmation's new connection cannot get in.
      await waitFor("routegen's session on node-7", () => sshSessions(victim).length > 0, 60_000);
      await lab.killSshd('node-7');
      const code = await exited;
      const out = io.out;
      assert.is(code, 1, out + io.err);
      // (--rollback-grace: how long routegen kept trying after the host's rollback was due)
      assert.match(out, new RegExp(`node-7 \\(192\\.168\\.10\\.108\\) failed at confirm: after applying, node-7 accepted no new SSH connection for \\d+ s, not even ${seconds(3)} s after its automatic rollback was due`), out);
      assert.match(out, 'the host rolls back by itself, but it is still unreachable');
      assert.match(out, '29 changed, 1 failed', out);
      await waitNoPending(lab, Number(seconds(4)) * 1000 + 10_000);
      const { updated, kept } = await assertConsistent(lab, old, '110');
      assert.equal(kept, ['node-7']);
      assert.is(updated.length, 29);
    } finally {
      await exited;
      await lab.startSshd('node-7');
    }
  });

  s('a full target directory and a read-only one: clear error, the previous file intact, nothing half-written', async (ctx) => {
    const lab = need(ctx);
    const dir = path.posix.dirname(DROPIN);
    const prev = { a: (await lab.readFile('node-3', DROPIN))!, b: (await lab.readFile('node-4', DROPIN))! };
    // node-3: a tiny tmpfs over the drop-in directory, filled up; node-4: the same, read-only.
    for (const h of ['node-3', 'node-4']) {
      const sh = `set -e; cp -p ${DROPIN} /tmp/keep.conf; mount -t tmpfs -o size=16k tmpfs ${dir}; chmod 755 ${dir}; cp -p /tmp/keep.conf ${DROPIN}`;
      const r = await lab.exec(h, ['sh', '-c', sh]);
      assert.is(r.code, 0, r.stderr);
    }
    await lab.exec('node-3', ['sh', '-c', `dd if=/dev/zero of=${dir}/.filler bs=1k count=64 2>/dev/null; true`]);
    await lab.exec('node-4', ['mount', '-o', 'remount,ro', dir]);
    try {
      const old = await snapshot(lab);
      const r = await routegen(lab, ['push', '-i', ctx.inventory!, ...STACK, '--metric', '120']);
      assert.is(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /node-3 \(192\.168\.10\.104\) failed at write \([a-z ]+: no space left on the device \(\d+ bytes free\)\)/);
      assert.match(r.stdout, /node-4 \(192\.168\.10\.105\) failed at write \([a-z ]+: read-only file system\)/);
      assert.match(r.stdout, '28 changed, 2 failed', r.stdout);
      assert.is(await lab.readFile('node-3', DROPIN), prev.a);
      assert.is(await lab.readFile('node-4', DROPIN), prev.b);
      await lab.exec('node-3', ['rm', '-f', `${dir}/.filler`]);
      const { kept } = await assertConsistent(lab, old, '120');
      assert.equal(kept.sort(), ['node-3', 'node-4']);
    } finally {
      for (const h of ['node-3', 'node-4']) await lab.exec(h, ['umount', dir]);
    }
  });

  s('failures at random steps across 30 hosts: exactly those reported, the rest configured, all consistent', async (ctx) => {
    const lab = need(ctx);
    // A seeded choice, printed so that a failure can be replayed.
    const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100000);
    let x = seed || 1;
    const rand = () => ((x = (x * 48271) % 2147483647) / 2147483647);
    const workers = lab.hosts.filter((h) => h.name !== 'server').map((h) => h.name);
    const pick = () => workers.splice(Math.floor(rand() * workers.length), 1)[0]!;
    const faults = { sshd: pick(), networkd: pick(), verify: pick(), config: pick() };
    process.stderr.write(`  fault seed ${seed}: ${JSON.stringify(faults)}\n`);
    await lab.killSshd(faults.sshd); // connect fails
    await lab.stopNetworkd(faults.networkd); // apply fails
    const cfg = path.join(lab.dir, 'faults.yaml');
    fs.writeFileSync(
      cfg,
      [
        'defaults:',
        '  stack: networkd',
        '  interface: eth1',
        'hosts:',
        `  ${faults.config}:`,
        '    networkd-file: 11-missing.network', // preflight fails
        `  ${faults.verify}:`,
        '    interface: eth9', // the routes land on eth1, not where the plan wants them: verify fails
        '    networkd-file: 10-eth1.network',
        '',
      ].join('\n'),
    );
    const old = await snapshot(lab);
    try {
      const r = await routegen(lab, ['push', '-i', ctx.inventory!, '-c', cfg, '--metric', '130', '--verify-timeout', seconds(2), '--connect-timeout', seconds(3), '--json']);
      assert.is(r.code, 1, r.stderr);
      const hosts = JSON.parse(r.stdout).hosts as Array<{ host: string; outcome: string; error?: { step: string } }>;
      const bad = hosts.filter((h) => h.outcome !== 'changed').map((h) => `${h.host} ${h.outcome} ${h.error?.step}`).sort();
      assert.equal(bad, [`${faults.sshd} failed connect`, `${faults.networkd} rolled back apply`, `${faults.config} failed check`, `${faults.verify} rolled back verify`].sort());
    } finally {
      await lab.startSshd(faults.sshd);
      await lab.startNetworkd(faults.networkd);
    }
    const { kept } = await assertConsistent(lab, old, '130');
    assert.equal(kept.sort(), Object.values(faults).sort());
  });

  s.run();
}
