/**
 * routegen remove on NetworkManager: the keyfile kept before routegen's first push goes back
 * byte for byte when today's keyfile differs from it only in routegen's routes; otherwise the
 * engine's keyfile (the pod routes taken out, the rest kept) stands.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cidrRange } from '../src/ip.js';
import { keyfileAsBefore } from '../src/push/removeHost.js';
import { mergeKeyfileRoutes } from '../src/stacks/nmKeyfile.js';
import type { IpValue } from '../src/types.js';

const cluster = ['10.200.0.0/24', '10.200.1.0/24'].map((c) => cidrRange(c) as IpValue);
const pods = [
  { family: 4 as const, to: '10.200.0.0/24', via: '192.168.10.101' },
  { family: 4 as const, to: '10.200.1.0/24', via: '192.168.10.102' },
];
/** An admin's keyfile as NM would not write it: a sparse route number, spaces round `=`, a `routes` key with options. */
const ORIG = '[connection]\nid=eth1\n\n[ipv4]\nmethod=manual\naddress1=192.168.10.100/24\nroute7 = 198.51.100.0/24,192.168.10.1\nroutes9=203.0.113.0/24,192.168.10.1\nroutes9_options=mtu=1400\n';
const merge = (text: string, routes: typeof pods) => mergeKeyfileRoutes(text, routes, cluster, cidrRange);

test('after push and the routes taken out, the keyfile is renumbered; the one kept before comes back instead', () => {
  const pushed = merge(ORIG, pods);
  const computed = merge(pushed, []);
  assert.is.not(computed, ORIG, 'taking the routes out alone does not give the original bytes');
  assert.not.match(computed, '10.200.');
  assert.ok(keyfileAsBefore(ORIG, computed, cluster));
});

test('the admin changed the keyfile since the first push: the computed keyfile stands', () => {
  const pushed = merge(ORIG, pods).replace('method=manual', 'method=manual\ndns=192.168.10.1;');
  assert.not.ok(keyfileAsBefore(ORIG, merge(pushed, []), cluster));
});

test('a keyfile kept with pod routes in it (a push by an older routegen) is not put back', () => {
  const older = merge(ORIG, pods);
  assert.not.ok(keyfileAsBefore(older, merge(older, []), cluster));
});

test('a kept keyfile routegen cannot read (two [ipv4] sections) is not put back', () => {
  assert.not.ok(keyfileAsBefore(`${ORIG}[ipv4]\nmethod=auto\n`, merge(ORIG, []), cluster));
});

test.run();
