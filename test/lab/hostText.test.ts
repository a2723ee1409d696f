/**
 * What a host sends back is data, never a command to routegen or to the operator's terminal:
 * garbage `ip -j route` output fails that host alone (rolled back at once), and terminal escapes
 * in a host's file or stderr are printed escaped. Real sshd and systemd-networkd on the lab; the
 * misbehaving programs are scripts bound over the real ones in ONE host's mount namespace.
 */
import * as assert from 'uvu/assert';
import { requireLab, type Lab } from './lab.js';
import { jumpboxRoutegen, labSuite, needLab } from './suite.js';

const DROPIN = '/etc/systemd/network/10-eth1.network.d/60-routegen-pod-routes.conf';
const STACK = ['--stack', 'networkd', '--interface', 'eth1'];
/** OSC 52 (write the operator's clipboard) and CSI 2 J (clear the screen). */
const OSC52 = '\x1b]52;c;cHduZWQ=\x07';
const CLEAR = '\x1b[2J';
const ESC = '\x1b';

/** Binds `script` over `program` in one host only; returns the undo. The real program stays
 * reachable as /run/lab-real/<name> (same base name: `ip` reads its own name). */
async function fake(lab: Lab, host: string, program: string, script: string): Promise<() => Promise<void>> {
  const name = program.split('/').pop()!;
  const r = await lab.exec(host, ['sh', '-c', `set -e; mkdir -p /run/lab-real /run/lab-fake; cp ${program} /run/lab-real/${name}; cat > /run/lab-fake/${name}; chmod 755 /run/lab-fake/${name}; mount --bind /run/lab-fake/${name} ${program}`], { input: script });
  assert.is(r.code, 0, `faking ${program} on ${host}: ${r.stderr}`);
  return async () => {
    const u = await lab.exec(host, ['umount', program]);
    assert.is(u.code, 0, `restoring ${program} on ${host}: ${u.stderr}`);
  };
}

async function podRoutes(lab: Lab, host: string): Promise<string[]> {
  return (await lab.routes(host)).filter((r) => r.gateway && r.dev === 'eth1').map((r) => `${r.dst} via ${r.gateway}`).sort();
}

if (requireLab()) {
  const s = labSuite('text and output from hosts', { stack: 'networkd', workers: 2, withServer: false });

  // routegen reads the routing table before it writes anything (the pre-apply guard), so garbage
  // there stops the host before a write; after the commit the same error rolls it back at once.
  s('garbage `ip -j route` output on one host: that host fails before anything is written, the other is changed, exit 1 (not a crash)', async (ctx) => {
    const lab = needLab(ctx);
    // Only `ip -j ...` (routegen's reads of the routing table) is broken; every other use of ip works.
    const undo = await fake(lab, 'node-0', '/usr/bin/ip', `#!/bin/sh
case " $* " in *" -j "*) printf '%s\\n' 'Segmentation fault (core dumped) {"dst":'; exit 0 ;; esac
exec /run/lab-real/ip "$@"
`);
    let r;
    try {
      r = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, ...STACK, '--json']);
    } finally {
      await undo();
    }
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.not.match(r.stderr, 'internal error');
    const out = JSON.parse(r.stdout) as { hosts: Array<{ host: string; outcome: string; error?: { step: string; message: string; stderr?: string; hint?: string } }> };
    const byHost = new Map(out.hosts.map((h) => [h.host, h]));
    const n0 = byHost.get('node-0')!;
    assert.is(n0.outcome, 'failed', JSON.stringify(n0));
    assert.is(n0.error!.step, 'check', JSON.stringify(n0));
    assert.match(n0.error!.message, "the host's routing table could not be read: `ip -j route` printed something that is not JSON");
    assert.match(n0.error!.stderr ?? '', 'Segmentation fault');
    assert.match(n0.error!.hint ?? '', 'ip -j -4 route show table main');
    assert.is(byHost.get('node-1')!.outcome, 'changed');
    // node-0 is as it was: no file, no pod route; node-1 has both.
    assert.is(await lab.readFile('node-0', DROPIN), null);
    assert.equal(await podRoutes(lab, 'node-0'), []);
    assert.equal(await podRoutes(lab, 'node-1'), ['10.200.0.0/24 via 192.168.10.101']);
    assert.ok((await lab.readFile('node-1', DROPIN))?.includes('Destination=10.200.0.0/24'));
  });

  s("terminal escapes in a host's file are shown escaped by diff; --json keeps them, JSON-escaped", async (ctx) => {
    const lab = needLab(ctx);
    await lab.writeFile('node-1', DROPIN, `# hand edit ${OSC52}${CLEAR}\n[Route]\nDestination=10.200.0.0/24\nGateway=192.168.10.101\n`);
    const r = await jumpboxRoutegen(lab, ['diff', '-i', ctx.inventory!, ...STACK, '--hosts', 'node-1']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.not.ok(r.stdout.includes(ESC) || r.stderr.includes(ESC), `raw ESC reached the terminal:\n${JSON.stringify(r.stdout)}`);
    assert.match(r.stdout, '-# hand edit \\x1b]52;c;cHduZWQ=\\x07\\x1b[2J');
    const j = await jumpboxRoutegen(lab, ['diff', '-i', ctx.inventory!, ...STACK, '--hosts', 'node-1', '--json']);
    assert.is(j.code, 0, j.stderr);
    assert.not.ok(j.stdout.includes(ESC), 'JSON escapes control characters');
    const diff = (JSON.parse(j.stdout) as { hosts: Array<{ diff: string }> }).hosts[0]!.diff;
    assert.ok(diff.includes(`-# hand edit ${OSC52}${CLEAR}`), diff);
  });

  s("terminal escapes in a host's stderr (\"host said:\") are shown escaped", async (ctx) => {
    const lab = needLab(ctx);
    // node-0 has no file yet: the push arms, renames, and its apply fails with this stderr.
    const undo = await fake(lab, 'node-0', '/usr/bin/networkctl', `#!/bin/sh
printf 'networkctl: reload failed ${OSC52.replace(ESC, '\\033').replace('\x07', '\\007')} ${CLEAR.replace(ESC, '\\033')}\\n' >&2
exit 1
`);
    let r;
    try {
      r = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, ...STACK, '--hosts', 'node-0']);
    } finally {
      await undo();
    }
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.not.ok(r.stdout.includes(ESC) || r.stderr.includes(ESC), `raw ESC reached the terminal:\n${JSON.stringify(r.stdout)}`);
    assert.match(r.stdout, /node-0\s+rolled back/);
    assert.match(r.stdout, 'host said: networkctl: reload failed \\x1b]52;c;cHduZWQ=\\x07 \\x1b[2J');
    assert.is(await lab.readFile('node-0', DROPIN), null, 'rolled back to no file');
  });

  s.run();
}
