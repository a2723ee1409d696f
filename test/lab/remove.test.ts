/**
 * routegen remove, end to end on the namespace lab: one host on each stack (NetworkManager,
 * systemd-networkd, netplan, ifupdown), each with its own sshd. Judges: every file under the
 * host's /etc, byte for byte, against a snapshot taken before the first push; the kernel's
 * routing table, before and after a reboot; routegen's state directory.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'uvu/assert';
import { requireLab, type Lab } from './lab.js';
import { jumpboxRoutegen, labSuite, needLab } from './suite.js';

const STACK_OF: Record<string, 'networkmanager' | 'networkd' | 'netplan' | 'ifupdown'> = { server: 'networkmanager', 'node-0': 'networkd', 'node-1': 'netplan', 'node-2': 'ifupdown' };
const HOSTS = Object.keys(STACK_OF);
/** What routegen writes on each host (NetworkManager: the connection's own keyfile). */
const FILE_OF: Record<string, string> = {
  server: '/etc/NetworkManager/system-connections/eth1.nmconnection',
  'node-0': '/etc/systemd/network/10-eth1.network.d/60-routegen-pod-routes.conf',
  'node-1': '/etc/netplan/60-routegen-pod-routes.yaml',
  'node-2': '/etc/network/interfaces.d/routegen-pod-routes',
};
const STATE_DIR = '/var/lib/routegen';

/** Every entry under the host's /etc, one line each: path, type, mode, and a hash of the bytes
 * (or a symlink's target). Sorted, so that assert.equal shows exactly what differs. */
function snapshotEtc(lab: Lab, host: string): string[] {
  const root = `/proc/${lab.host(host).pid}/root`;
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel))) {
      const p = path.posix.join(rel, name);
      const st = fs.lstatSync(path.join(root, p));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`${p}/ ${mode}`);
        walk(p);
      } else if (st.isSymbolicLink()) {
        out.push(`${p} -> ${fs.readlinkSync(path.join(root, p))}`);
      } else if (st.isFile()) {
        out.push(`${p} ${mode} ${st.uid}:${st.gid} ${createHash('sha256').update(fs.readFileSync(path.join(root, p))).digest('hex').slice(0, 16)}`);
      } else {
        out.push(`${p} special ${mode}`);
      }
    }
  };
  walk('/etc');
  return out.sort();
}

/** The kernel's main IPv4 table of a host, one route a line. */
async function kernelTable(lab: Lab, host: string): Promise<string[]> {
  return (await lab.routes(host)).map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev} proto ${r.protocol ?? '-'}${r.metric !== undefined ? ` metric ${r.metric}` : ''}`).sort();
}

/** Routes via a gateway into a pod subnet of the lab. */
async function podRoutes(lab: Lab, host: string): Promise<string[]> {
  const subnets = new Set(lab.hosts.map((h) => h.podSubnet).filter(Boolean));
  return (await lab.routes(host)).filter((r) => r.gateway && subnets.has(r.dst)).map((r) => `${r.dst} via ${r.gateway}`).sort();
}

function stateLeft(lab: Lab, host: string): boolean {
  return fs.existsSync(`/proc/${lab.host(host).pid}/root${STATE_DIR}`);
}

const routegen = (lab: Lab, args: string[]) => jumpboxRoutegen(lab, args);

if (requireLab({ networkManager: true })) {
  const rm = labSuite('remove on every stack: NetworkManager, networkd, netplan, ifupdown', { workers: 3, stack: (h) => STACK_OF[h] ?? 'networkd' });
  const before = new Map<string, { etc: string[]; kernel: string[] }>();
  let afterPush = new Map<string, string[]>();

  rm('push puts the pod routes on every host (the starting point, with each host snapshotted first)', async (ctx) => {
    const lab = needLab(ctx);
    // The NetworkManager connection has routes of the admin's own, written as NM never would
    // (a sparse number, spaces round `=`, a `routes` key): push renumbers them; remove puts the
    // keyfile back as it was.
    const kf = (await lab.readFile('server', FILE_OF.server!))!.replace(/^(address1=.*)$/m, '$1\nroute7 = 198.51.100.0/24,192.168.10.1\nroutes9=203.0.113.0/24,192.168.10.1');
    await lab.writeFile('server', FILE_OF.server!, kf, 0o600);
    await lab.reboot('server');
    assert.ok((await lab.routes('server')).some((r) => r.dst === '203.0.113.0/24'), 'NetworkManager reads the admin routes');
    for (const h of HOSTS) {
      before.set(h, { etc: snapshotEtc(lab, h), kernel: await kernelTable(lab, h) });
      assert.not.ok(stateLeft(lab, h), `${h}: no routegen state before the first push`);
    }
    const r = await routegen(lab, ['push', '-i', ctx.inventory!, '-c', '/dev/null']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    for (const h of HOSTS) {
      assert.match(r.stdout, new RegExp(`${h}\\s+changed.*${STACK_OF[h]} eth1`));
      assert.is((await podRoutes(lab, h)).length, h === 'server' ? 3 : 2, `${h}: pod routes after push`);
      assert.ok(stateLeft(lab, h), `${h}: routegen keeps its state`);
      assert.not.equal(snapshotEtc(lab, h), before.get(h)!.etc, `${h}: push changed /etc`);
    }
    afterPush = new Map(HOSTS.map((h) => [h, snapshotEtc(lab, h)]));
  });

  rm('remove --dry-run names each file, its routes and the state directory, and changes nothing', async (ctx) => {
    const lab = needLab(ctx);
    const routesBefore = new Map(await Promise.all(HOSTS.map(async (h) => [h, await kernelTable(lab, h)] as const)));
    const r = await routegen(lab, ['remove', '--dry-run', '-i', ctx.inventory!, '-c', '/dev/null']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    // the files routegen owns go whole; the keyfile loses only its pod routes
    for (const h of ['node-0', 'node-1', 'node-2']) assert.match(r.stdout, `--- a${FILE_OF[h]}\n+++ /dev/null`);
    assert.match(r.stdout, `--- a${FILE_OF.server}\n+++ b${FILE_OF.server}`);
    assert.match(r.stdout, /^-route3=10\.200\.0\.0\/24,192\.168\.10\.101$/m);
    assert.match(r.stdout, /^\+route7 = 198\.51\.100\.0\/24,192\.168\.10\.1$/m);
    assert.match(r.stdout, /^-Destination=10\.200\.1\.0\/24$/m);
    assert.is(r.stdout.split(`${STATE_DIR}: routegen's helper script and state`).length - 1, 4, r.stdout);
    for (const h of HOSTS) assert.match(r.stdout, new RegExp(`^${h}\\s+would remove\\s+${h === 'server' ? 3 : 2}\\s+would remove`, 'm'));
    assert.match(r.stdout, '4 hosts: 4 would remove');
    assert.match(r.stdout, 'Nothing was changed.');
    for (const h of HOSTS) {
      assert.equal(snapshotEtc(lab, h), afterPush.get(h), `${h}: /etc untouched by the dry run`);
      assert.equal(await kernelTable(lab, h), routesBefore.get(h), `${h}: kernel untouched by the dry run`);
      assert.ok(stateLeft(lab, h), `${h}: state untouched by the dry run`);
    }
  });

  rm('remove --hosts node-0 takes routegen off node-0 only', async (ctx) => {
    const lab = needLab(ctx);
    const r = await routegen(lab, ['remove', '--hosts', 'node-0', '-i', ctx.inventory!, '-c', '/dev/null']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^node-0\s+removed\s+2\s+removed/m);
    assert.match(r.stdout, '1 host: 1 removed');
    assert.equal(snapshotEtc(lab, 'node-0'), before.get('node-0')!.etc, 'node-0: /etc as before the first push');
    assert.equal(await podRoutes(lab, 'node-0'), []);
    assert.not.ok(stateLeft(lab, 'node-0'));
    for (const h of ['server', 'node-1', 'node-2']) {
      assert.equal(snapshotEtc(lab, h), afterPush.get(h), `${h}: not selected, untouched`);
      assert.is((await podRoutes(lab, h)).length, h === 'server' ? 3 : 2, `${h}: keeps its pod routes`);
    }
  });

  rm('remove: every host\'s /etc byte for byte as before the first push, its kernel table too, no state left; none of it back after a reboot', async (ctx) => {
    const lab = needLab(ctx);
    const r = await routegen(lab, ['remove', '-i', ctx.inventory!, '-c', '/dev/null']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    for (const h of ['server', 'node-1', 'node-2']) assert.match(r.stdout, new RegExp(`^${h}\\s+removed\\s+${h === 'server' ? 3 : 2}\\s+removed`, 'm'));
    // node-0 had nothing left: its file and state went with --hosts
    assert.match(r.stdout, /^node-0\s+nothing to remove\s+0\s+none/m);
    const check = async (when: string) => {
      for (const h of HOSTS) {
        assert.equal(snapshotEtc(lab, h), before.get(h)!.etc, `${h}: /etc ${when} as before the first push`);
        assert.equal(await podRoutes(lab, h), [], `${h}: no pod route ${when}`);
        assert.equal(await kernelTable(lab, h), before.get(h)!.kernel, `${h}: kernel table ${when} as before the first push`);
        assert.not.ok(stateLeft(lab, h), `${h}: no ${STATE_DIR} ${when}`);
      }
    };
    await check('after remove');
    for (const h of HOSTS) await lab.reboot(h);
    await check('after a reboot');
  });

  rm.run();
}
