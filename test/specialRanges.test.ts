/**
 * Pod subnets routegen refuses on their own: special-purpose ranges, implausibly wide prefixes,
 * and ranges among the machines' own addresses; and the routegen.yaml key that accepts them.
 * Each class with the exact message and position the user sees.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../src/errors.js';
import { EMPTY_CONFIG, loadConfig } from '../src/inventory/config.js';
import { parseInventory } from '../src/inventory/machines.js';
import { cidrRange } from '../src/ip.js';
import { hostPlan, planRoutes } from '../src/plan.js';
import { nodeBlock, SPECIAL_RANGES, specialRangeOf, WIDEST_POD_PREFIX } from '../src/specialRanges.js';

/** The guide's cluster with node-1's pod subnet (and address column) replaced. */
const cluster = (subnet: string, ip1 = '192.168.10.102') => `192.168.10.100 server.kubernetes.local server
192.168.10.101 node-0.kubernetes.local node-0 10.200.0.0/24
${ip1} node-1.kubernetes.local node-1 ${subnet}
`;

function problemsOf(text: string, config = EMPTY_CONFIG): string[] {
  try {
    planRoutes(parseInventory(text, 'machines.txt'), config);
  } catch (e) {
    if (e instanceof UserError) return e.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
    throw e;
  }
  return [];
}

const OVERRIDE = loadConfig('allow-special-pod-subnets: true\n', 'routegen.yaml');

test('pod subnets in special-purpose ranges are refused, naming the range', () => {
  const cases: Array<[string, string]> = [
    ['0.0.0.0/8', 'is the special-purpose range 0.0.0.0/8 ("this network", never a destination)'],
    ['127.0.0.0/8', 'is the special-purpose range 127.0.0.0/8 (loopback)'],
    ['169.254.0.0/16', 'is the special-purpose range 169.254.0.0/16 (link-local, home of the cloud metadata service 169.254.169.254)'],
    ['169.254.169.254/32', 'lies in the special-purpose range 169.254.0.0/16 (link-local, home of the cloud metadata service 169.254.169.254)'],
    ['224.0.0.0/4', 'is the special-purpose range 224.0.0.0/4 (multicast)'],
    ['239.1.0.0/16', 'lies in the special-purpose range 224.0.0.0/4 (multicast)'],
    ['255.255.255.255/32', 'lies in the special-purpose range 240.0.0.0/4 (reserved, with the broadcast address 255.255.255.255)'],
    ['192.0.2.0/24', 'is the special-purpose range 192.0.2.0/24 (documentation, TEST-NET-1)'],
    ['198.51.100.128/25', 'lies in the special-purpose range 198.51.100.0/24 (documentation, TEST-NET-2)'],
    ['203.0.0.0/8', 'holds the special-purpose range 203.0.113.0/24 (documentation, TEST-NET-3)'],
  ];
  for (const [subnet, what] of cases) {
    assert.equal(problemsOf(cluster(subnet)), [`3:47: pod subnet ${subnet} ${what}: every other host would send that traffic to node-1`], subnet);
  }
});

test('IPv6 pod subnets in special-purpose ranges are refused', () => {
  const v6 = (subnet: string) => `192.168.10.100,fd00:10::100 server.kubernetes.local server
192.168.10.101,fd00:10::101 node-0.kubernetes.local node-0 10.200.0.0/24,fd00:10:200::/64
192.168.10.102,fd00:10::102 node-1.kubernetes.local node-1 10.200.1.0/24,${subnet}
`;
  const cases: Array<[string, string]> = [
    ['::1/128', 'is the special-purpose range ::1/128 (loopback)'],
    ['::/128', 'is the special-purpose range ::/128 (the unspecified address)'],
    ['fe80::/10', 'is the special-purpose range fe80::/10 (link-local)'],
    ['fe80::/64', 'lies in the special-purpose range fe80::/10 (link-local)'],
    ['ff02::/16', 'lies in the special-purpose range ff00::/8 (multicast)'],
    ['2001:db8::/32', 'is the special-purpose range 2001:db8::/32 (documentation)'],
    ['::ffff:a00:0/120', 'lies in the special-purpose range ::ffff:0:0/96 (IPv4-mapped addresses, never on the wire)'],
  ];
  for (const [subnet, what] of cases) {
    assert.equal(problemsOf(v6(subnet)), [`3:74: pod subnet ${subnet} ${what}: every other host would send that traffic to node-1`], subnet);
  }
});

test('pod subnets wider than /8 (IPv4) or /32 (IPv6) are refused; exactly /8 and /32 are not', () => {
  for (const subnet of ['0.0.0.0/0', '0.0.0.0/1', '128.0.0.0/2', '10.0.0.0/7']) {
    // (the widest also overlap node-0's subnet or hold machines' addresses: reported as well)
    const problems = problemsOf(cluster(subnet));
    assert.ok(problems.includes(`3:47: pod subnet ${subnet} is too wide for one node's pods (shorter than /8): every other host would send that whole range to node-1`), `${subnet}: ${problems.join('; ')}`);
  }
  assert.equal(problemsOf(cluster('11.0.0.0/8')), []);
  assert.equal(WIDEST_POD_PREFIX, { 4: 8, 6: 32 });
  const v6 = (subnet: string) => `192.168.10.101,fd00:10::101 node-0.kubernetes.local node-0 10.200.0.0/24,fd00:10:200::/64\n192.168.10.102,fd00:10::102 node-1.kubernetes.local node-1 10.200.1.0/24,${subnet}\n`;
  assert.equal(problemsOf(v6('fd01::/31')), ["2:74: pod subnet fd01::/31 is too wide for one node's pods (shorter than /32): every other host would send that whole range to node-1"]);
  assert.equal(problemsOf(v6('fd01::/32')), []);
});

test('the hints say what is right and name the override', () => {
  try {
    planRoutes(parseInventory(cluster('128.0.0.0/2'), 'machines.txt'), EMPTY_CONFIG);
    assert.unreachable();
  } catch (e) {
    const [p] = (e as UserError).problems;
    assert.is(p!.hint, 'give each node its own small range, e.g. a /24 (IPv4) or /64 (IPv6) from a private block; if it is really meant, set "allow-special-pod-subnets: true" in routegen.yaml');
    assert.is(p!.length, '128.0.0.0/2'.length);
  }
});

test('a pod subnet among the machines\' addresses is refused: the hosts between them would go through the node', () => {
  // .100 and .140 differ in their top bit: the smallest block holding both is 192.168.10.0/24
  const text = `192.168.10.100 server.kubernetes.local server
192.168.10.101 node-0.kubernetes.local node-0 10.200.0.0/24
192.168.10.140 node-1.kubernetes.local node-1 192.168.10.112/28
`;
  assert.equal(problemsOf(text), ["3:47: pod subnet 192.168.10.112/28 lies inside the node network: the machines' addresses span 192.168.10.0/24, and the other hosts there would be reached through node-1"]);
  // outside the block the machines span: fine (routegen cannot see the network's real prefix; push checks the host's)
  assert.equal(problemsOf(text.replace('192.168.10.112/28', '192.168.11.0/28')), []);
  // machines spread wider than a /16 are on several networks: nothing to say about the space between
  assert.equal(problemsOf(text.replace('192.168.10.140', '192.169.0.1').replace('192.168.10.112/28', '192.168.200.0/24')), []);
  // one holding a machine's address keeps its own, more precise message
  assert.equal(problemsOf(text.replace('192.168.10.112/28', '192.168.10.96/28')), [
    "3:47: pod subnet 192.168.10.96/28 contains server's address 192.168.10.100 (line 1)",
    "3:47: pod subnet 192.168.10.96/28 contains node-0's address 192.168.10.101 (line 2)",
  ]);
});

test('nodeBlock is the smallest CIDR block holding every address', () => {
  const a = (s: string) => cidrRange(`${s}/${s.includes(':') ? 128 : 32}`)!;
  assert.is(nodeBlock([a('192.168.10.100'), a('192.168.10.101'), a('192.168.10.102')])!.text, '192.168.10.100/30');
  assert.is(nodeBlock([a('192.168.10.100')])!.text, '192.168.10.100/32');
  assert.is(nodeBlock([a('10.0.0.1'), a('192.168.0.1')])!.text, '0.0.0.0/0');
  assert.is(nodeBlock([a('fd00:10::100'), a('fd00:10::1:0')])!.text, 'fd00:10::/111');
  assert.is(nodeBlock([]), undefined);
});

test('every special-purpose range is refused, as itself or as a /24 or /64 inside it', () => {
  for (const r of SPECIAL_RANGES) {
    const range = cidrRange(r.cidr)!;
    assert.ok(range, r.cidr);
    assert.is(specialRangeOf(range)?.cidr, r.cidr);
    const prefix = Math.max(range.prefix, range.family === 4 ? 24 : 64);
    const net = `${r.cidr.split('/')[0]}/${prefix}`;
    const problems = problemsOf(range.family === 4
      ? cluster(net)
      : `192.168.10.101,fd00:10::101 a.test a 10.200.0.0/24,fd00:10:200::/64\n192.168.10.102,fd00:10::102 b.test b 10.200.1.0/24,${net}\n`);
    assert.is(problems.length, 1, `${net}: ${problems.join('; ')}`);
    assert.match(problems[0]!, `the special-purpose range ${r.cidr} (${r.what})`);
  }
  // private ranges and the shared address space are fine
  for (const ok of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10']) assert.is(specialRangeOf(cidrRange(ok)!), undefined, ok);
});

test('allow-special-pod-subnets: true accepts every class, and the routes are planned', () => {
  for (const subnet of ['128.0.0.0/2', '169.254.0.0/16', '224.0.0.0/4', '255.255.255.255/32']) {
    const plan = planRoutes(parseInventory(cluster(subnet), 'machines.txt'), OVERRIDE);
    const server = hostPlan(plan, plan.hosts[0]!);
    assert.ok(server.routes.some((r) => r.to === subnet && r.via === '192.168.10.102'), subnet);
  }
  const between = cluster('192.168.10.112/28', '192.168.10.140');
  assert.is(problemsOf(between).length, 1);
  assert.equal(problemsOf(between, OVERRIDE), []);
  // the rules about the machines' own addresses and overlaps stay
  assert.equal(problemsOf(cluster('192.168.10.0/24'), OVERRIDE).length, 3);
  assert.equal(problemsOf(cluster('10.0.0.0/8'), OVERRIDE), ['3:47: pod subnet 10.0.0.0/8 overlaps 10.200.0.0/24 of node-0 (line 2)']);
});

test('allow-special-pod-subnets must be a boolean, with its position', () => {
  assert.is(loadConfig('allow-special-pod-subnets: false\n', 'r.yaml').allowSpecialPodSubnets, false);
  assert.is(EMPTY_CONFIG.allowSpecialPodSubnets, undefined);
  try {
    loadConfig('defaults:\n  stack: networkd\nallow-special-pod-subnets: yes\n', 'r.yaml');
    assert.unreachable();
  } catch (e) {
    assert.ok(e instanceof UserError);
    assert.equal(e.problems.map((p) => `${p.line}:${p.column}: ${p.message}`), ['3:28: allow-special-pod-subnets must be true or false; found "yes"']);
  }
});

test.run();
