import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../src/errors.js';
import { EMPTY_CONFIG, loadConfig } from '../src/inventory/config.js';
import { parseInventory } from '../src/inventory/machines.js';
import { hostPlan, planRoutes, selectHosts } from '../src/plan.js';
import { renderSettings } from '../src/render.js';

const GUIDE = `192.168.10.100 server.kubernetes.local server
192.168.10.101 node-0.kubernetes.local node-0 10.200.0.0/24
192.168.10.102 node-1.kubernetes.local node-1 10.200.1.0/24
`;

const routesOf = (text: string, config = EMPTY_CONFIG) => {
  const plan = planRoutes(parseInventory(text, 'machines.txt'), config);
  return Object.fromEntries(plan.hosts.map((h) => [h.machine.hostname, hostPlan(plan, h).routes.map((r) => `${r.to} via ${r.via}`)]));
};

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
    throw e;
  }
  throw new Error('expected a UserError');
}

test("the guide's machines.txt gives the guide's four routes", () => {
  assert.equal(routesOf(GUIDE), {
    server: ['10.200.0.0/24 via 192.168.10.101', '10.200.1.0/24 via 192.168.10.102'],
    'node-0': ['10.200.1.0/24 via 192.168.10.102'],
    'node-1': ['10.200.0.0/24 via 192.168.10.101'],
  });
});

test('machines keep their line numbers; comments, tabs, CRLF and blank lines are fine', () => {
  const inv = parseInventory('# cluster\r\n\r\n192.168.10.100\tserver.kubernetes.local server # cp\r\n  192.168.10.101 node-0.kubernetes.local node-0 10.200.0.0/24\r\n', 'm.txt');
  assert.equal(inv.machines.map((m) => [m.hostname, m.line]), [['server', 3], ['node-0', 4]]);
  assert.is(inv.machines[1]!.spans.subnet!.column, 49);
});

test('routes are sorted numerically, never to the own subnet, one per other subnet', () => {
  const lines = ['192.0.2.1 cp.test cp'];
  for (const i of [10, 2, 1, 9]) lines.push(`192.0.2.${100 + i} w${i}.test w${i} 10.${i}.0.0/16`);
  const r = routesOf(lines.join('\n'));
  assert.equal(r.cp, ['10.1.0.0/16 via 192.0.2.101', '10.2.0.0/16 via 192.0.2.102', '10.9.0.0/16 via 192.0.2.109', '10.10.0.0/16 via 192.0.2.110']);
  assert.equal(r.w2, ['10.1.0.0/16 via 192.0.2.101', '10.9.0.0/16 via 192.0.2.109', '10.10.0.0/16 via 192.0.2.110']);
});

test('dual-stack: each family via the same family, IPv4 first', () => {
  const r = routesOf(`192.0.2.1,2001:db8::1 cp.test cp
192.0.2.2,2001:db8::2 w0.test w0 10.0.0.0/24,fd00:100::/64
192.0.2.3,2001:db8::3 w1.test w1 10.0.1.0/24,fd00:100:0:1::/64
`);
  assert.equal(r.w0, ['10.0.1.0/24 via 192.0.2.3', 'fd00:100:0:1::/64 via 2001:db8::3']);
  assert.is(r.cp!.length, 4);
});

test('IPv6 addresses are normalised, so duplicates written differently are caught', () => {
  const p = problemsOf(() => routesOf('2001:db8::1 a.test a\n2001:0db8:0:0::1 b.test b\n'));
  assert.equal(p, ['2:1: address 2001:db8::1 is already used by a on line 1']);
});

test('a subnet nested inside another is an overlap, in either order', () => {
  assert.equal(problemsOf(() => routesOf('192.0.2.1 a.t a 10.0.0.0/8\n192.0.2.2 b.t b 10.1.0.0/16\n')), ['2:17: pod subnet 10.1.0.0/16 overlaps 10.0.0.0/8 of a (line 1)']);
  assert.equal(problemsOf(() => routesOf('192.0.2.1 a.t a 10.1.0.0/16\n192.0.2.2 b.t b 10.0.0.0/8\n')), ['2:17: pod subnet 10.0.0.0/8 overlaps 10.1.0.0/16 of a (line 1)']);
  // adjacent subnets do not overlap
  assert.is(routesOf('192.0.2.1 a.t a 10.0.0.0/24\n192.0.2.2 b.t b 10.0.1.0/24\n').a!.length, 1);
});

test('every problem of a file is reported at once', () => {
  const p = problemsOf(() => parseInventory('300.1.1.1 a.t a\n192.0.2.2 b..t b\n192.0.2.3 c.t -c 10.0.0.1/24\n', 'm.txt'));
  assert.is(p.length, 4);
});

test('a host-bits subnet suggests the network address', () => {
  assert.equal(problemsOf(() => parseInventory('192.0.2.1 a.t a 10.200.1.5/24\n', 'm')), ['1:17: pod subnet 10.200.1.5/24 has host bits set; did you mean 10.200.1.0/24?']);
  assert.equal(problemsOf(() => parseInventory('2001:db8::1 a.t a 2001:db8:1::1/64\n', 'm')), ['1:19: pod subnet 2001:db8:1::1/64 has host bits set; did you mean 2001:db8:1::/64?']);
});

test('settings: defaults < config defaults < host entry < flags', () => {
  const cfg = loadConfig('defaults:\n  stack: netplan\n  interface: eth1\nhosts:\n  node-0:\n    stack: networkd\n    metric: 5\n', 'r.yaml');
  const plan = planRoutes(parseInventory(GUIDE, 'machines.txt'), cfg, { interface: 'ens3' });
  const s = Object.fromEntries(plan.hosts.map((h) => [h.machine.hostname, h.settings]));
  assert.equal(s.server, { stack: 'netplan', interface: 'ens3', ssh: { via: 'ip' } });
  // The networkd file is left to the host (push asks networkctl); render defaults it offline.
  assert.equal(s['node-0'], { stack: 'networkd', interface: 'ens3', metric: 5, ssh: { via: 'ip' } });
  assert.is(renderSettings(s['node-0']!).networkdFile, '10-ens3.network');
  // --stack auto (or stack: auto) means: ask the host
  const auto = planRoutes(parseInventory(GUIDE, 'machines.txt'), cfg, { stack: 'auto' });
  assert.equal(auto.hosts.map((h) => h.settings.stack), [undefined, undefined, undefined]);
});

test('--hosts selects hosts but routes still cover the cluster; unknown names are usage errors', () => {
  const plan = planRoutes(parseInventory(GUIDE, 'machines.txt'), EMPTY_CONFIG);
  const sel = selectHosts(plan, ['node-1']);
  assert.equal(sel.map((h) => hostPlan(plan, h).routes.map((r) => r.to)), [['10.200.0.0/24']]);
  assert.throws(() => selectHosts(plan, ['node-7']), (e: unknown) => e instanceof UserError && e.kind === 'usage' && /node-7/.test(e.message));
});

test('a large cluster plans in O(n log n) validation and streams per host', () => {
  const lines = ['192.168.0.1 cp.t cp'];
  for (let i = 0; i < 3000; i++) lines.push(`10.0.${i >> 8}.${(i & 255) + 0} w${i}.t w${i} 172.${16 + (i >> 8)}.${i & 255}.0/24`);
  const plan = planRoutes(parseInventory(lines.join('\n'), 'big'), EMPTY_CONFIG);
  assert.is(plan.destinations.length, 3000);
  assert.is(hostPlan(plan, plan.hosts[5]!).routes.length, 2999);
});

test.run();
