/**
 * NetworkManager keyfiles: routegen replaces the pod routes of the connection that owns the
 * interface and keeps everything else. Unit cases, then the REAL NetworkManager (`nmcli
 * --offline`, which reads a keyfile on stdin and writes NM's own serialisation of it) must read
 * the merged file and see exactly the kept routes plus the planned ones, and read every route
 * line the way keyfileRoutes does.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { UserError } from '../src/errors.js';
import { isIpProblem, parseNetwork } from '../src/ip.js';
import { keyfileRoutes, mergeKeyfileRoutes, type AddressRange, type KeyfileRoute, type PlannedRoute } from '../src/stacks/nmKeyfile.js';
import { need } from './helpers/need.js';
import { bound } from './helpers/time.js';

function toRange(cidr: string): AddressRange | null {
  const v = parseNetwork(cidr, { column: 1, length: 1 });
  return isIpProblem(v) ? null : v;
}

const cluster = ['10.200.0.0/24', '10.200.1.0/24', '10.200.2.0/24', 'fd00:10:200::/64', 'fd00:10:200:1::/64'].map((c) => toRange(c) as AddressRange);

/** node-0 of a dual-stack cluster. */
const planned: PlannedRoute[] = [
  { family: 4, to: '10.200.1.0/24', via: '192.168.10.102' },
  { family: 4, to: '10.200.2.0/24', via: '192.168.10.103' },
  { family: 6, to: 'fd00:10:200:1::/64', via: 'fd00:10::102' },
];

/** A connection as `nmcli connection add` on RHEL 9 writes it, plus hand-made routes. */
const RHEL = `[connection]
id=eth1
uuid=6b3ef7d8-7c0f-4c4e-9a40-1a2b3c4d5e6f
type=ethernet
interface-name=eth1

[ethernet]

[ipv4]
address1=192.168.10.101/24
method=manual
route1=172.16.0.0/16,192.168.10.1
route2=10.200.1.0/24,192.168.10.99,50
route2_options=onlink=true
route3=10.0.0.0/8,192.168.10.1,500
route3_options=table=100
route4=10.200.2.7/24,192.168.10.103

[ipv6]
addr-gen-mode=default
address1=fd00:10::101/64
method=manual
route1=fd00:10:200:1::/64,fd00:10::99
route2=fd00:99::/48,fd00:10::1

[proxy]
`;

const merge = (text: string, routes = planned) => mergeKeyfileRoutes(text, routes, cluster, toRange);
const brief = (rs: KeyfileRoute[]) => rs.map((r) => `${r.family} ${r.to} via ${r.via || '-'}${r.metric === undefined ? '' : ` metric ${r.metric}`}${r.options ? ` [${r.options}]` : ''}`);
const routeLine = /^routes?\d*(_options)?=/;
const nonRouteLines = (text: string) => text.split('\n').filter((l) => !routeLine.test(l));

test('pod routes are replaced, every other route and line is kept', () => {
  const out = merge(RHEL);
  assert.equal(brief(keyfileRoutes(out)), [
    '4 172.16.0.0/16 via 192.168.10.1',
    '4 10.0.0.0/8 via 192.168.10.1 metric 500 [table=100]',
    '4 10.200.1.0/24 via 192.168.10.102',
    '4 10.200.2.0/24 via 192.168.10.103',
    '6 fd00:99::/48 via fd00:10::1',
    '6 fd00:10:200:1::/64 via fd00:10::102',
  ]);
  assert.equal(nonRouteLines(out), nonRouteLines(RHEL));
  assert.is(
    out,
    RHEL.replace(
      /route1=172[^]*?route4=.*\n/,
      'route1=172.16.0.0/16,192.168.10.1\nroute2=10.0.0.0/8,192.168.10.1,500\nroute2_options=table=100\nroute3=10.200.1.0/24,192.168.10.102\nroute4=10.200.2.0/24,192.168.10.103\n',
    ).replace('route1=fd00:10:200:1::/64,fd00:10::99\nroute2=fd00:99::/48,fd00:10::1\n', 'route1=fd00:99::/48,fd00:10::1\nroute2=fd00:10:200:1::/64,fd00:10::102\n'),
  );
});

test('merging twice gives the same bytes; an up-to-date file is not touched', () => {
  const once = merge(RHEL);
  assert.is(merge(once), once);
  assert.is(merge(merge(once, []), []), merge(once, []));
  const plain = RHEL.replace(/^route.*\n/gm, '');
  assert.is(merge(plain, []), plain, 'no routes planned, none there: same bytes');
});

test('the plan order does not matter', () => {
  assert.is(merge(RHEL, [...planned].reverse()), merge(RHEL));
});

test('metric', () => {
  const out = merge(RHEL, planned.map((r) => ({ ...r, metric: 100 })));
  assert.match(out, /^route3=10\.200\.1\.0\/24,192\.168\.10\.102,100$/m);
  assert.match(out, /^route2=fd00:10:200:1::\/64,fd00:10::102,100$/m);
  assert.is(merge(out, planned), merge(RHEL), 'the metric removed again');
});

test('routes go after the last line of a section that had none; the section is kept', () => {
  const text = '[connection]\nid=eth1\ntype=ethernet\n\n[ipv4]\naddress1=192.168.10.101/24\nmethod=manual\n\n[ipv6]\nmethod=auto\n';
  const out = merge(text);
  assert.is(
    out,
    '[connection]\nid=eth1\ntype=ethernet\n\n[ipv4]\naddress1=192.168.10.101/24\nmethod=manual\nroute1=10.200.1.0/24,192.168.10.102\nroute2=10.200.2.0/24,192.168.10.103\n\n[ipv6]\nmethod=auto\nroute1=fd00:10:200:1::/64,fd00:10::102\n',
  );
  assert.is(merge(out, []), text, 'and removed again, back to the same bytes');
});

test('NM key forms: route, routesN, ;-separated, no prefix, host bits; orphan _options dropped', () => {
  const text = '[ipv4]\nmethod=manual\nroute3=10.3.0.0/16\nroutes2=10.200.0.0;192.168.10.9;\nroute=10.9.0.0/16\nroute3_options=table=5\nroute7_options=table=9\nroute02=10.200.1.0/24,1.2.3.4\n';
  assert.equal(brief(keyfileRoutes(text)), ['4 10.9.0.0/16 via -', '4 10.200.0.0/24 via 192.168.10.9', '4 10.3.0.0/16 via - [table=5]']);
  const out = merge(text, [{ family: 4, to: '10.200.1.0/24', via: '192.168.10.102' }]);
  assert.is(out, '[ipv4]\nmethod=manual\nroute1=10.9.0.0/16\nroute2=10.3.0.0/16\nroute2_options=table=5\nroute3=10.200.1.0/24,192.168.10.102\nroute02=10.200.1.0/24,1.2.3.4\n');
});

test('a supernet of the pod subnets is not routegen\'s; a route inside one is', () => {
  const text = '[ipv4]\nmethod=auto\nroute1=10.200.0.0/16,192.168.10.1\nroute2=10.200.1.128/25,192.168.10.1\n';
  assert.is(merge(text, []), '[ipv4]\nmethod=auto\nroute1=10.200.0.0/16,192.168.10.1\n');
});

test('no [ipv6] section but IPv6 routes planned: an error, nothing guessed', () => {
  const text = RHEL.replace(/\[ipv6\][^[]*/, '');
  try {
    merge(text);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, 'no [ipv6] section');
  }
  // IPv4 alone is fine, and stale IPv6 routes need no section.
  assert.not.match(merge(text, planned.filter((r) => r.family === 4)), '[ipv6]');
});

test('a disabled family, a key or section given twice: errors', () => {
  assert.throws(() => merge(RHEL.replace('method=manual\nroute1=fd00', 'method=disabled\nroute1=fd00')), /ipv6\.method=disabled/);
  assert.throws(() => merge(RHEL.replace('route3=', 'route1=')), /sets route1 twice/);
  assert.throws(() => merge(`${RHEL}[ipv4]\nroute9=10.1.0.0/16\n`), /two \[ipv4\] sections/);
});

test('CRLF files stay CRLF; no final newline stays so', () => {
  const crlf = RHEL.replace(/\n/g, '\r\n');
  assert.is(merge(crlf), merge(RHEL).replace(/\n/g, '\r\n'));
  assert.is(merge(RHEL.slice(0, -1)), merge(RHEL).slice(0, -1));
});

// ---- the real NetworkManager ----

/** NM's own reading of a keyfile: `nmcli --offline connection modify` with a no-op change
 * parses stdin and prints the connection as NM would save it. */
function nm(text: string): { code: number; out: string; err: string } {
  const id = /^id=(.*)$/m.exec(text)?.[1] ?? 'x';
  const r = spawnSync('nmcli', ['--offline', 'connection', 'modify', 'connection.id', id], { input: text, encoding: 'utf8', timeout: bound(10_000) });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const withoutKeys = (rs: KeyfileRoute[]) => rs.map(({ key: _key, ...r }) => r);

if (need(['nmcli'], 'the NetworkManager keyfile test')) {
  test('NetworkManager reads the merged keyfile: exactly the kept routes plus the planned ones', () => {
    for (const metric of [undefined, 100]) {
      const routes = planned.map((r) => ({ ...r, ...(metric === undefined ? {} : { metric }) }));
      const out = merge(RHEL, routes);
      const r = nm(out);
      assert.is(r.code, 0, r.err);
      assert.is(r.err, '');
      assert.equal(withoutKeys(keyfileRoutes(r.out)), withoutKeys(keyfileRoutes(out)));
      // routegen's file is already in NM's own form: NM writes the same route lines back.
      assert.equal(r.out.split('\n').filter((l) => routeLine.test(l)), out.split('\n').filter((l) => routeLine.test(l)));
      const kept = keyfileRoutes(RHEL).filter((k) => !/^(10\.200\.|fd00:10:200:)/.test(k.to));
      const expected = [...kept.filter((k) => k.family === 4), ...routes.filter((p) => p.family === 4), ...kept.filter((k) => k.family === 6), ...routes.filter((p) => p.family === 6)];
      assert.equal(brief(keyfileRoutes(r.out)), brief(expected.map((e) => ({ key: '', ...e }))));
      // Every non-route setting survives NM's reading too.
      assert.equal(nonRouteLines(r.out), nonRouteLines(out));
    }
  });

  test('NetworkManager reads the tricky key forms as keyfileRoutes does', () => {
    const text = `[connection]\nid=x\ntype=ethernet\n\n[ipv4]\nmethod=manual\naddress1=192.168.10.101/24\nroute3=10.3.0.0/16\nroutes2=10.2.0.0/16\nroute=10.9.0.0/16\nroute0=10.0.0.0/16\nroute1=10.1.0.0/16;192.168.10.1;7;\nroutes1=10.11.0.0,192.168.10.1\nroutes1_options=table=7\nroute02=10.202.0.0/16\nroute5= garbage\nroute6=10.6.0.0/33,,9\n\n[ipv6]\nmethod=auto\nroute2=fd00:2::/48,::,5\nroute1=fd00:1::\n`;
    const r = nm(text);
    assert.is(r.code, 0, r.err);
    assert.equal(withoutKeys(keyfileRoutes(r.out)), withoutKeys(keyfileRoutes(text)));
  });

  // Random route lines, as people and tools write them: NM and keyfileRoutes agree on every one.
  const v4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 3 })).map(([a, b, c]) => `10.${a}.${b}.${c}`);
  const v6 = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 3 })).map(([a, b]) => `fd00:${a.toString(16)}::${b || ''}`);
  const value = (addr: fc.Arbitrary<string>, max: number) =>
    fc.oneof(
      // the forms people write: dest[/plen][,gw[,metric]] with either separator
      fc
        .tuple(addr, fc.option(fc.integer({ min: 0, max: max + 2 })), fc.option(fc.oneof(addr, fc.constant(''))), fc.option(fc.integer({ min: 0, max: 4294967296 })), fc.constantFrom(',', ';'), fc.boolean())
        .map(([d, p, gw, m, sep, trail]) => {
          let v = p === null ? d : `${d}/${p}`;
          if (gw !== null || m !== null) v += `${sep}${gw ?? ''}`;
          if (m !== null) v += `${sep}${m}`;
          return trail && sep === ';' ? `${v};` : v;
        }),
      // anything NM's field reader may meet: fields of addresses, numbers, junk and nothing
      fc
        .array(fc.tuple(fc.oneof(addr, fc.nat({ max: 300 }).map(String), fc.constantFrom('', '0.0.0.0', '::', 'x', ' 1', '1 ', '%', '007')), fc.constantFrom('/', ',', ';')), { minLength: 1, maxLength: 5 })
        .map((fs) => fs.map(([f, d], i) => (i === fs.length - 1 ? f : f + d)).join('')),
    );
  const key = fc.tuple(fc.constantFrom('route', 'routes'), fc.constantFrom('', '0', '1', '2', '3', '10', '02')).map(([b, n]) => `${b}${n}`);
  const section = (addr: fc.Arbitrary<string>, max: number) => fc.uniqueArray(fc.tuple(key, value(addr, max), fc.option(fc.constantFrom('table=5', 'onlink=true'), { freq: 4 })), { selector: ([k]) => k, maxLength: 6 });
  test('NetworkManager and keyfileRoutes read random route lines alike; merges stay NM-readable', () => {
    fc.assert(
      fc.property(section(v4, 32), section(v6, 128), (s4, s6) => {
        const lines = (s: typeof s4) => s.flatMap(([k, v, o]) => [`${k}=${v}`, ...(o ? [`${k}_options=${o}`] : [])]).join('\n');
        const text = `[connection]\nid=x\ntype=ethernet\n\n[ipv4]\nmethod=manual\naddress1=192.168.10.101/24\n${lines(s4)}\n\n[ipv6]\nmethod=manual\naddress1=fd00:10::101/64\n${lines(s6)}\n`;
        const r = nm(text);
        assert.is(r.code, 0, r.err);
        assert.equal(withoutKeys(keyfileRoutes(r.out)), withoutKeys(keyfileRoutes(text)), text);
        const out = merge(text);
        const m = nm(out);
        assert.is(m.code, 0, m.err);
        assert.equal(withoutKeys(keyfileRoutes(m.out)), withoutKeys(keyfileRoutes(out)), out);
        assert.is(merge(out), out);
      }),
      { numRuns: 120, seed: Number(process.env.FC_SEED ?? 20240611) },
    );
  });
}

test.run();
