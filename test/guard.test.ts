/**
 * The check before a host's routes change (src/push/guard.ts): host facts as `ip -j route` and
 * SSH_CONNECTION give them, the plan of that host, and the exact problems that stop it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conflictError, parseHostFacts, routeConflicts, type HostFacts } from '../src/push/guard.js';
import { FACTS_SCRIPT } from '../src/push/hostAccess.js';
import type { Route } from '../src/types.js';

/** FACTS_SCRIPT's output on a host: the SSH peer line and both tables as `ip -j` prints them. */
const output = (peer: string, v4: object[], v6: object[] = []) =>
  `@@ssh ${peer}\n@@ipv4\n${JSON.stringify(v4)}\n@@ipv6\n${JSON.stringify(v6)}\n`;

/** The guide's server: eth1 on 192.168.10.0/24, a default gateway, routegen connecting from the jumpbox. */
const LAN = { dst: '192.168.10.0/24', dev: 'eth1', protocol: 'kernel', scope: 'link', prefsrc: '192.168.10.100', flags: [] };
const DEFAULT = { dst: 'default', gateway: '192.168.10.1', dev: 'eth1', flags: [] };
const JUMPBOX = '192.168.10.10 51234 192.168.10.100 22';
const facts = (extra: object[] = [], peer = JUMPBOX): HostFacts => parseHostFacts(output(peer, [DEFAULT, LAN, ...extra]));

const route = (to: string, via: string, owner: string): Route => ({ family: to.includes(':') ? 6 : 4, to, via, owner });
const GUIDE: Route[] = [route('10.200.0.0/24', '192.168.10.101', 'node-0'), route('10.200.1.0/24', '192.168.10.102', 'node-1')];

test('FACTS_SCRIPT is one constant command; its output gives the peer and the routes', () => {
  assert.not.match(FACTS_SCRIPT, "'");
  const f = parseHostFacts(output(JUMPBOX, [DEFAULT, LAN]));
  assert.is(f.peer, '192.168.10.10');
  assert.equal(f.kernel.map((k) => [k.dst, k.gateway, k.scope]), [['default', '192.168.10.1', undefined], ['192.168.10.0/24', undefined, 'link']]);
  // sshd did not set SSH_CONNECTION: nothing to check the peer against
  assert.is(parseHostFacts(output('', [])).peer, undefined);
});

test("the guide's plan on the guide's hosts: no problem", () => {
  assert.equal(routeConflicts(facts(), GUIDE, 'eth1', []), []);
});

test("a route identical to a planned one (the guide's own `ip route add`) is no conflict", () => {
  const hand = { dst: '10.200.1.0/24', gateway: '192.168.10.102', dev: 'eth1', protocol: 'boot', flags: [] };
  assert.equal(routeConflicts(facts([hand]), GUIDE, 'eth1', []), []);
});

test('a route the host has to a planned destination, not made by routegen, stops the host', () => {
  const cases: Array<[object, string]> = [
    [{ dst: '10.200.1.0/24', dev: 'docker0', protocol: 'kernel', scope: 'link', prefsrc: '10.200.1.1', flags: ['linkdown'] }, '10.200.1.0/24 dev docker0 proto kernel scope link'],
    [{ dst: '10.200.1.0/24', gateway: '10.8.0.1', dev: 'tun0', protocol: 'static', flags: [] }, '10.200.1.0/24 via 10.8.0.1 dev tun0 proto static'],
    [{ type: 'blackhole', dst: '10.200.1.0/24', protocol: 'bird', flags: [] }, 'blackhole 10.200.1.0/24 proto bird'],
    // the planned gateway, but on another interface
    [{ dst: '10.200.1.0/24', gateway: '192.168.10.102', dev: 'eth2', flags: [] }, '10.200.1.0/24 via 192.168.10.102 dev eth2'],
  ];
  for (const [k, shown] of cases) {
    assert.equal(routeConflicts(facts([k]), GUIDE, 'eth1', []), [`10.200.1.0/24: the host already routes it (${shown}), and routegen did not make that route; applying would replace it`], shown);
  }
  // the same route, when routegen's file on the host has that destination: routegen's to change
  assert.equal(routeConflicts(facts([cases[1]![0]]), GUIDE, 'eth1', ['10.200.1.0/24']), []);
  // a /32 as ip prints it (no prefix)
  const host = { dst: '10.200.9.9', dev: 'wg0', scope: 'link', flags: [] };
  assert.equal(routeConflicts(facts([host]), [route('10.200.9.9/32', '192.168.10.102', 'node-1')], 'eth1', []), [
    '10.200.9.9/32: the host already routes it (10.200.9.9 dev wg0 scope link), and routegen did not make that route; applying would replace it',
  ]);
});

test("a planned route that would capture routegen's own connection (the jumpbox) stops the host", () => {
  const plan = [route('192.168.10.0/28', '192.168.10.102', 'node-1')];
  assert.equal(routeConflicts(facts(), plan, 'eth1', []), [
    '192.168.10.0/28 lies inside 192.168.10.0/24, a network this host is on (192.168.10.0/24 dev eth1 proto kernel scope link): the other hosts there would be reached through node-1',
    '192.168.10.0/28 via 192.168.10.102 would carry the traffic to 192.168.10.10, the address routegen is connected from (SSH_CONNECTION), through node-1',
    "192.168.10.0/28 via 192.168.10.102 would carry the traffic to 192.168.10.1, this host's default gateway, through node-1",
  ]);
  // the jumpbox reached through the default gateway: only the capture is wrong
  const far = facts([], '172.20.5.9 40000 192.168.10.100 22');
  assert.equal(routeConflicts(far, [route('172.20.0.0/16', '192.168.10.102', 'node-1')], 'eth1', []), [
    '172.20.0.0/16 via 192.168.10.102 would carry the traffic to 172.20.5.9, the address routegen is connected from (SSH_CONNECTION), through node-1',
  ]);
  // an IPv4 client of an IPv6 socket shows as ::ffff:a.b.c.d
  const mapped = facts([], '::ffff:172.20.5.9 40000 ::ffff:192.168.10.100 22');
  assert.is(routeConflicts(mapped, [route('172.20.0.0/16', '192.168.10.102', 'node-1')], 'eth1', []).length, 1);
});

test('an address kept on a more specific route, or already routed that way, is not captured', () => {
  const vpn = { dst: '172.20.5.0/24', gateway: '192.168.10.1', dev: 'eth1', flags: [] };
  const far = facts([vpn], '172.20.5.9 40000 192.168.10.100 22');
  assert.equal(routeConflicts(far, [route('172.20.0.0/16', '192.168.10.102', 'node-1')], 'eth1', []), []);
  // routegen run from a pod on node-1, whose subnet the host already reaches via node-1
  const hand = { dst: '10.200.1.0/24', gateway: '192.168.10.102', dev: 'eth1', protocol: 'boot', flags: [] };
  assert.equal(routeConflicts(facts([hand], '10.200.1.7 40000 192.168.10.100 22'), GUIDE, 'eth1', []), []);
  // the local table answers for loopback before the main table
  assert.equal(routeConflicts(facts([], '127.0.0.1 40000 127.0.0.1 22'), [route('127.0.0.0/8', '192.168.10.102', 'node-1')], 'eth1', []), []);
});

test("a planned route holding the host's default gateway stops the host", () => {
  const gw = parseHostFacts(output(JUMPBOX, [{ dst: 'default', gateway: '10.9.0.1', dev: 'eth0', flags: [] }, { dst: '10.9.0.0/30', dev: 'eth0', scope: 'link', flags: [] }, LAN]));
  // a planned route holding the gateway's network: that more specific route stays, the gateway too
  assert.equal(routeConflicts(gw, [route('10.9.0.0/24', '192.168.10.102', 'node-1')], 'eth1', []), []);
  // one inside the gateway's own network takes it
  assert.equal(routeConflicts(gw, [route('10.9.0.0/31', '192.168.10.102', 'node-1')], 'eth1', []), [
    '10.9.0.0/31 lies inside 10.9.0.0/30, a network this host is on (10.9.0.0/30 dev eth0 scope link): the other hosts there would be reached through node-1',
    "10.9.0.0/31 via 192.168.10.102 would carry the traffic to 10.9.0.1, this host's default gateway, through node-1",
  ]);
  // a planned 0.0.0.0/0 (allowed only by allow-special-pod-subnets) would replace the default route
  assert.equal(routeConflicts(facts(), [route('0.0.0.0/0', '192.168.10.102', 'node-1')], 'eth1', []), [
    '0.0.0.0/0: the host already routes it (default via 192.168.10.1 dev eth1), and routegen did not make that route; applying would replace it',
  ]);
});

test('IPv6: connected routes have no scope in `ip -j`; a planned route inside one is refused', () => {
  const v6 = parseHostFacts(output('fd00:10::10 40000 fd00:10::100 22', [], [
    { dst: 'fd00:10::/64', dev: 'eth1', protocol: 'kernel', metric: 256, flags: [], pref: 'medium' },
    { dst: 'fe80::/64', dev: 'eth1', protocol: 'kernel', metric: 256, flags: [], pref: 'medium' },
    { dst: 'default', gateway: 'fe80::1', dev: 'eth1', metric: 1024, flags: [], pref: 'medium' },
  ]));
  assert.equal(routeConflicts(v6, [route('fd00:10:200::/64', 'fd00:10::101', 'node-0')], 'eth1', []), []);
  assert.equal(routeConflicts(v6, [route('fd00:10::/112', 'fd00:10::102', 'node-1')], 'eth1', []), [
    'fd00:10::/112 lies inside fd00:10::/64, a network this host is on (fd00:10::/64 dev eth1 proto kernel): the other hosts there would be reached through node-1',
    'fd00:10::/112 via fd00:10::102 would carry the traffic to fd00:10::10, the address routegen is connected from (SSH_CONNECTION), through node-1',
  ]);
});

test('the error says nothing was written, and what to do', () => {
  const e = conflictError('node-0', ['x']);
  assert.is(e.message, "refusing to change node-0's routes: a planned route would take traffic that is not the pods' (nothing was written)");
  assert.match(e.hint, /ip route del DST/);
});

test.run();
