/**
 * NetworkManager hosts as they come (test/lab/nmBases.ts): `Wired connection 1` (spaces in the
 * profile and file name) on server, cloud-init's MAC-matched `cloud-init eth1` on node-0, and a
 * profile held only in memory on node-1. routegen runs from the jumpbox with no stack flags and
 * no routegen.yaml; the keyfiles, the kernel's routing table and a lab reboot are the judges.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'uvu/assert';
import { requireLab, type Lab } from './lab.js';
import { CLOUD_INIT_UUID, NM_BASE_FILE, NM_MEMORY_SAVED, nmBases, toMemory, wiredUuid } from './nmBases.js';
import { jumpboxRoutegen, labSuite, needLab } from './suite.js';

const ROUTES: Record<string, string[]> = {
  server: ['10.200.0.0/24 via 192.168.10.101 dev eth1', '10.200.1.0/24 via 192.168.10.102 dev eth1'],
  'node-0': ['10.200.1.0/24 via 192.168.10.102 dev eth1'],
  'node-1': ['10.200.0.0/24 via 192.168.10.101 dev eth1'],
};
const UUIDS: Record<string, string> = { server: wiredUuid('server'), 'node-0': CLOUD_INIT_UUID, 'node-1': wiredUuid('node-1') };
const IPS: Record<string, string> = { server: '192.168.10.100', 'node-0': '192.168.10.101', 'node-1': '192.168.10.102' };
/** Where each host's profile is once node-1's has been saved to disk. */
const FILES: Record<string, string> = { server: NM_BASE_FILE.wired, 'node-0': NM_BASE_FILE['cloud-init'], 'node-1': NM_MEMORY_SAVED };

async function gatewayRoutes(lab: Lab, host: string): Promise<string[]> {
  return (await lab.routes(host))
    .filter((r) => r.gateway)
    .map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`)
    .sort();
}

async function hasAddress(lab: Lab, host: string): Promise<boolean> {
  const r = await lab.exec(host, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth1']);
  return r.stdout.includes(` inet ${IPS[host]}/24 `);
}

/** The keyfile keeps every line that is not a pod route, holds exactly the planned ones, 0600. */
async function assertKeyfile(lab: Lab, host: string, before: string) {
  const after = (await lab.readFile(host, FILES[host]!))!;
  assert.ok(after !== null, `${host}: ${FILES[host]} exists`);
  assert.is(await lab.fileMode(host, FILES[host]!), 0o600, `${host}: keyfile mode`);
  for (const line of before.split('\n').filter((l) => !/^route\d/.test(l))) assert.ok(after.includes(line), `${host} lost: ${line}`);
  const routes = after.split('\n').filter((l) => /^route\d+=/.test(l)).map((l) => l.replace(/^route\d+=/, ''));
  assert.equal(routes, ROUTES[host]!.map((r) => r.replace(/^(\S+) via (\S+) dev eth1$/, '$1,$2')), `${host}: routes in the keyfile`);
}

if (requireLab({ networkManager: true })) {
  const nm = labSuite('NetworkManager hosts as they come: Wired connection 1, cloud-init eth1, a profile in memory', {
    stack: 'networkmanager',
    baseFiles: nmBases({ server: 'wired', 'node-0': 'cloud-init', 'node-1': 'memory' }),
  });
  /** Each host's profile before routegen touched it. */
  const before: Record<string, string> = {};

  nm('push with no flags: `Wired connection 1` and the MAC-matched cloud-init profile get the routes; the in-memory profile is refused with the command that saves it, and left alone', async (ctx) => {
    const lab = needLab(ctx);
    await toMemory(lab, 'node-1');
    for (const h of ['server', 'node-0']) before[h] = (await lab.readFile(h, FILES[h]!))!;
    before['node-1'] = (await lab.readFile('node-1', NM_BASE_FILE.memory))!;
    const r = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, '-c', '/dev/null']);
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /server\s+changed\s+2\s+2\s+0.*networkmanager eth1/);
    assert.match(r.stdout, /node-0\s+changed\s+1\s+1\s+0.*networkmanager eth1/);
    for (const h of ['server', 'node-0']) {
      await assertKeyfile(lab, h, before[h]!);
      assert.equal(await gatewayRoutes(lab, h), ROUTES[h], `${h}: kernel after push`);
      assert.ok(await hasAddress(lab, h), `${h} keeps its address`);
    }
    // node-1: the true cause, and the exact command; nothing written
    assert.match(r.stdout, `node-1's connection ${UUIDS['node-1']} on eth1 lives only in NetworkManager's memory`);
    assert.match(r.stdout, `\`sudo nmcli connection modify ${UUIDS['node-1']} connection.uuid ${UUIDS['node-1']}\` on node-1`);
    assert.not.match(r.stdout + r.stderr, 'plain names');
    assert.is(await lab.readFile('node-1', NM_BASE_FILE.memory), before['node-1']);
    assert.is(await lab.readFile('node-1', NM_MEMORY_SAVED), null);
    assert.equal(await gatewayRoutes(lab, 'node-1'), []);
  });

  nm('the in-memory profile: after the command routegen gave, NetworkManager keeps it in /etc unchanged, and a push with no flags routes node-1', async (ctx) => {
    const lab = needLab(ctx);
    const first = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, '-c', '/dev/null', '--hosts', 'node-1']);
    const cmd = /`sudo (nmcli connection modify [0-9a-f-]+ connection\.uuid [0-9a-f-]+)`/.exec(first.stdout)?.[1];
    assert.ok(cmd, first.stdout);
    const ran = await lab.exec('node-1', cmd!.split(' '));
    assert.is(ran.code, 0, ran.stderr);
    assert.is(await lab.readFile('node-1', NM_BASE_FILE.memory), null, 'gone from /run');
    // (NM adds its own timestamp= when it saves an active profile; no setting changes)
    const noStamp = (t: string | null) => t?.replace(/^timestamp=\d+\n/m, '');
    assert.is(noStamp(await lab.readFile('node-1', NM_MEMORY_SAVED)), noStamp(before['node-1']!), 'saved to /etc as it was');
    assert.ok(await hasAddress(lab, 'node-1'));
    const r = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, '-c', '/dev/null']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /node-1\s+changed\s+1\s+1\s+0.*networkmanager eth1/);
    assert.match(r.stdout, /3 hosts: (1 changed, 2 unchanged|2 unchanged, 1 changed) /);
    await assertKeyfile(lab, 'node-1', before['node-1']!);
    assert.equal(await gatewayRoutes(lab, 'node-1'), ROUTES['node-1']);
    assert.ok(await hasAddress(lab, 'node-1'));
    assert.ok(await lab.ping('node-0', '10.200.1.2'), 'pod on node-0 reaches the pod on node-1');
    assert.ok(await lab.ping('node-1', '10.200.0.2'), 'pod on node-1 reaches the pod on node-0');
  });

  nm('after a reboot the routes are back on every host; status is clean; discover --write records each connection UUID, and push and status with it agree', async (ctx) => {
    const lab = needLab(ctx);
    for (const h of ['server', 'node-0', 'node-1']) await lab.reboot(h);
    for (const h of ['server', 'node-0', 'node-1']) {
      assert.equal(await gatewayRoutes(lab, h), ROUTES[h], `${h}: kernel after reboot`);
      assert.ok(await hasAddress(lab, h), `${h} has its address after reboot`);
    }
    const st = await jumpboxRoutegen(lab, ['status', '-i', ctx.inventory!, '-c', '/dev/null']);
    assert.is(st.code, 0, st.stdout + st.stderr);

    const yaml = path.join(lab.dir, 'nm-routegen.yaml');
    const d = await jumpboxRoutegen(lab, ['discover', '-i', ctx.inventory!, '-c', yaml, '--write']);
    assert.is(d.code, 0, d.stdout + d.stderr);
    const written = fs.readFileSync(yaml, 'utf8');
    for (const h of ['server', 'node-0', 'node-1']) {
      assert.match(written, new RegExp(`  ${h}:\\n    stack: networkmanager\\n    interface: eth1\\n    nm-connection: ${UUIDS[h]}\\n`), written);
    }
    const again = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, '-c', yaml]);
    assert.is(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, '3 hosts: 3 unchanged');
    const st2 = await jumpboxRoutegen(lab, ['status', '-i', ctx.inventory!, '-c', yaml]);
    assert.is(st2.code, 0, st2.stdout + st2.stderr);
  });

  nm('a keyfile named with quotes, a colon, a backslash, non-ASCII letters and a leading dash: push changes it (found by UUID), rollback puts the previous one back', async (ctx) => {
    const lab = needLab(ctx);
    const odd = `/etc/NetworkManager/system-connections/-r "q'\\ü: 1.nmconnection`;
    const mv = await lab.exec('server', ['sh', '-c', 'mv -f -- "$0" "$1" && nmcli connection reload && nmcli -t -f UUID,FILENAME connection show --active', FILES.server!, odd]);
    assert.is(mv.code, 0, mv.stderr);
    assert.match(mv.stdout, `${UUIDS.server}:/etc/NetworkManager/system-connections/-r "q'\\\\ü\\: 1.nmconnection`);
    const kept = (await lab.readFile('server', odd))!;
    const r = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, '-c', '/dev/null', '--hosts', 'server', '--metric', '70']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /server\s+changed/);
    assert.match((await lab.readFile('server', odd))!, /^route1=10\.200\.0\.0\/24,192\.168\.10\.101,70$/m);
    const metrics = (await lab.routes('server')).filter((x) => x.gateway).map((x) => `${x.dst} ${x.metric}`).sort();
    assert.equal(metrics, ['10.200.0.0/24 70', '10.200.1.0/24 70']);
    const rb = await jumpboxRoutegen(lab, ['rollback', '-i', ctx.inventory!, '-c', '/dev/null', '--hosts', 'server']);
    assert.is(rb.code, 0, rb.stdout + rb.stderr);
    assert.is(await lab.readFile('server', odd), kept);
    assert.equal(await gatewayRoutes(lab, 'server'), ROUTES.server);
    assert.ok(await hasAddress(lab, 'server'));
    assert.is((await jumpboxRoutegen(lab, ['status', '-i', ctx.inventory!, '-c', '/dev/null', '--hosts', 'server'])).code, 0);
  });

  nm.run();
}
