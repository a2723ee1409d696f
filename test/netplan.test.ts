/**
 * The REAL netplan reads routegen's netplan files: `netplan generate --root-dir` next to a base
 * file holding eth1's address must accept them without a warning, and the networkd file it
 * emits must carry exactly the planned routes — the same ones as routegen's own networkd
 * rendering — and keep the address.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { need } from './helpers/need.js';
import { removeDir, ROOT, routegen, tempDir } from './helpers/cli.js';

/** [Route] sections of a networkd file as "Destination via Gateway [metric]" lines. */
function networkdRoutes(text: string): string[] {
  return text
    .split(/^\[Route\]$/m)
    .slice(1)
    .map((sec) => {
      const get = (k: string) => sec.match(new RegExp(`^${k}=(.*)$`, 'm'))?.[1];
      return [get('Destination'), 'via', get('Gateway'), get('Metric') ?? ''].join(' ').trim();
    })
    .sort();
}

const cases = [
  { name: 'guide', inventory: 'fixtures/guide/machines.txt', extra: [] as string[] },
  { name: 'dual-stack', inventory: 'fixtures/dual-stack/machines.txt', extra: [] as string[] },
  { name: 'guide with metric', inventory: 'fixtures/guide/machines.txt', extra: ['--metric', '100'] },
];

if (need(['netplan'], 'the netplan generate test')) {
  for (const c of cases) {
    test(`netplan generate accepts routegen's files: ${c.name}`, () => {
      const tmp = tempDir('netplan');
      try {
        const base = ['render', '-i', join(ROOT, c.inventory), '-c', '/dev/null', '--interface', 'eth1', ...c.extra, '-q'];
        assert.is(routegen([...base, '--stack', 'netplan', '--out', join(tmp, 'np')]).code, 0);
        assert.is(routegen([...base, '--stack', 'networkd', '--out', join(tmp, 'nd')]).code, 0);
        const hosts = ['server', 'node-0', 'node-1'];
        for (const [i, host] of hosts.entries()) {
          const root = join(tmp, 'root', host);
          mkdirSync(join(root, 'etc/netplan'), { recursive: true });
          const baseFile = join(root, 'etc/netplan/50-base.yaml');
          writeFileSync(baseFile, `network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    eth1:\n      addresses: [192.168.10.${100 + i}/24, "fd00:10::${100 + i}/64"]\n`);
          chmodSync(baseFile, 0o600);
          const ours = readFileSync(join(tmp, 'np', host, 'etc/netplan/60-routegen-pod-routes.yaml'), 'utf8');
          writeFileSync(join(root, 'etc/netplan/60-routegen-pod-routes.yaml'), ours, { mode: 0o600 });
          chmodSync(join(root, 'etc/netplan/60-routegen-pod-routes.yaml'), 0o600);
          const r = spawnSync('netplan', ['generate', '--root-dir', root], { encoding: 'utf8' });
          assert.is(r.status, 0, r.stderr);
          assert.is(r.stderr.trim(), '', `netplan printed warnings for ${host}:\n${r.stderr}`);
          const emitted = readFileSync(join(root, 'run/systemd/network/10-netplan-eth1.network'), 'utf8');
          assert.match(emitted, `Address=192.168.10.${100 + i}/24`, 'the base address is kept');
          const planned = networkdRoutes(readFileSync(join(tmp, 'nd', host, 'etc/systemd/network/10-eth1.network.d/60-routegen-pod-routes.conf'), 'utf8'));
          assert.ok(planned.length > 0);
          assert.equal(networkdRoutes(emitted), planned, `${host}: netplan's routes differ from routegen's networkd rendering`);
        }
      } finally {
        removeDir(tmp);
      }
    });
  }
}

if (need(['netplan'], 'the netplan bond test')) {
  test('an interface netplan defines as a bond: routes in bonds: are accepted, in ethernets: refused', () => {
    const tmp = tempDir('netplan-bond');
    try {
      const render = (section: string) => {
        const out = join(tmp, section);
        const r = routegen(['render', '-i', join(ROOT, 'fixtures/guide/machines.txt'), '-c', '/dev/null', '--stack', 'netplan', '--interface', 'bond0', '--netplan-section', section, '--out', out, '-q']);
        assert.is(r.code, 0, r.stderr);
        return readFileSync(join(out, 'node-0/etc/netplan/60-routegen-pod-routes.yaml'), 'utf8');
      };
      const generate = (ours: string) => {
        const root = join(tmp, 'root');
        removeDir(root);
        mkdirSync(join(root, 'etc/netplan'), { recursive: true });
        const base = 'network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    eth1: {}\n    eth2: {}\n  bonds:\n    bond0:\n      interfaces: [eth1, eth2]\n      addresses: [192.168.10.101/24]\n';
        writeFileSync(join(root, 'etc/netplan/50-base.yaml'), base, { mode: 0o600 });
        writeFileSync(join(root, 'etc/netplan/60-routegen-pod-routes.yaml'), ours, { mode: 0o600 });
        const r = spawnSync('netplan', ['generate', '--root-dir', root], { encoding: 'utf8' });
        return { r, root };
      };
      const bad = generate(render('ethernets'));
      assert.is.not(bad.r.status, 0, 'netplan refuses routes for a bond under ethernets:');
      assert.match(bad.r.stderr, 'changes device type');
      const good = generate(render('bonds'));
      assert.is(good.r.status, 0, good.r.stderr);
      assert.is(good.r.stderr.trim(), '');
      const emitted = readFileSync(join(good.root, 'run/systemd/network/10-netplan-bond0.network'), 'utf8');
      assert.equal(networkdRoutes(emitted), ['10.200.1.0/24 via 192.168.10.102']);
      assert.match(emitted, 'Address=192.168.10.101/24');
    } finally {
      removeDir(tmp);
    }
  });
}

if (need(['netplan'], 'the netplan ID test')) {
  // How cloud images, installers and Multipass define the link: the ID is not the interface name.
  const bases = [
    { kind: 'glob', id: 'lan', def: '    lan:\n      match: {name: "eth*"}\n' },
    { kind: 'MAC + set-name', id: 'id0', def: '    id0:\n      match: {macaddress: "02:00:00:00:01:01"}\n      set-name: eth1\n' },
    { kind: 'Multipass default', id: 'default', def: '    default:\n      match: {macaddress: "02:00:00:00:01:01"}\n' },
    { kind: 'exact name', id: 'uplink', def: '    uplink:\n      match: {name: eth1}\n' },
  ];
  for (const b of bases) {
    test(`netplan ID ${b.id} (${b.kind}): routes under it merge into netplan's one file for the link; under eth1 they make a second that loses the address`, () => {
      const tmp = tempDir('netplan-id');
      try {
        const generate = (id: string) => {
          const out = join(tmp, `out-${id}`);
          writeFileSync(join(tmp, `cfg-${id}.yaml`), `hosts:\n  node-0:\n    netplan-id: ${id}\n`);
          const r = routegen(['render', '-i', join(ROOT, 'fixtures/guide/machines.txt'), '-c', join(tmp, `cfg-${id}.yaml`), '--stack', 'netplan', '--interface', 'eth1', '--out', out, '-q']);
          assert.is(r.code, 0, r.stderr);
          const root = join(tmp, `root-${id}`);
          mkdirSync(join(root, 'etc/netplan'), { recursive: true });
          writeFileSync(join(root, 'etc/netplan/50-cloud-init.yaml'), `network:\n  version: 2\n  ethernets:\n${b.def}      addresses: [192.168.10.101/24]\n`, { mode: 0o600 });
          writeFileSync(join(root, 'etc/netplan/60-routegen-pod-routes.yaml'), readFileSync(join(out, 'node-0/etc/netplan/60-routegen-pod-routes.yaml'), 'utf8'), { mode: 0o600 });
          const g = spawnSync('netplan', ['generate', '--root-dir', root], { encoding: 'utf8' });
          assert.is(g.status, 0, g.stderr);
          return readdirSync(join(root, 'run/systemd/network')).filter((f) => f.endsWith('.network')).map((f) => [f, readFileSync(join(root, 'run/systemd/network', f), 'utf8')] as const);
        };
        const good = generate(b.id);
        assert.equal(good.map(([f]) => f), [`10-netplan-${b.id}.network`], 'one definition, one file');
        assert.match(good[0]![1], 'Address=192.168.10.101/24');
        assert.equal(networkdRoutes(good[0]![1]), ['10.200.1.0/24 via 192.168.10.102']);
        // What routegen wrote before it asked netplan for the ID: a second definition of eth1 in
        // a file of its own, without the address; networkd applies whichever file sorts first
        // (eth1's before lan's and id0's: the host is cut off).
        const bad = generate('eth1');
        assert.equal(bad.map(([f]) => f).sort(), [`10-netplan-${b.id}.network`, '10-netplan-eth1.network'].sort());
        const second = bad.find(([f]) => f === '10-netplan-eth1.network')![1];
        assert.not.match(second, 'Address=');
        assert.match(second, 'Name=eth1');
      } finally {
        removeDir(tmp);
      }
    });
  }
}

test.run();
