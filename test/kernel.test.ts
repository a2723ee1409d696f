/** Reading the kernel's routing table from a host's `ip -j route` output: every shape checked. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HostOutputError, parseKernelRoutes } from '../src/push/kernel.js';

const table = (v4: string, v6 = '[]') => `@@ipv4\n${v4}\n@@ipv6\n${v6}\n`;

test('real ip -j output is read, apply output before the marker ignored', () => {
  const out = `networkctl said something\n${table(
    '[{"dst":"default","gateway":"192.0.2.1","dev":"eth0","protocol":"static","flags":[]},{"dst":"10.200.1.0/24","gateway":"192.168.10.102","dev":"eth1","protocol":"static","metric":100,"flags":["onlink"]}]',
    '[{"dst":"fd00:10::/64","dev":"eth1","protocol":"kernel","metric":256,"flags":[],"pref":"medium"}]',
  )}`;
  assert.equal(parseKernelRoutes(out), [
    { dst: 'default', gateway: '192.0.2.1', dev: 'eth0', protocol: 'static', metric: undefined },
    { dst: '10.200.1.0/24', gateway: '192.168.10.102', dev: 'eth1', protocol: 'static', metric: 100 },
    { dst: 'fd00:10::/64', gateway: undefined, dev: 'eth1', protocol: 'kernel', metric: 256 },
  ]);
  assert.equal(parseKernelRoutes(table('[]', '')), []);
});

const bad: Array<[string, string, RegExp]> = [
  ['no marker at all', 'ip: command not found\n', /no routing table/],
  ['text instead of JSON (an iproute2 without -j)', table('default via 192.0.2.1 dev eth0'), /not JSON/],
  ['truncated JSON', table('[{"dst":"10.0.0.0/8"'), /not JSON/],
  ['JSON that is not a list', table('{"dst":"10.0.0.0/8"}'), /not a list of routes/],
  ['a list of numbers', table('[1,2,3]'), /not an object/],
  ['null in the list', table('[null]'), /not an object/],
  ['dst missing', table('[{"gateway":"192.0.2.1"}]'), /wrong type/],
  ['dst a number', table('[{"dst":42}]'), /wrong type/],
  ['metric text', table('[{"dst":"10.0.0.0/8","metric":"100"}]'), /wrong type/],
  ['gateway an object', table('[{"dst":"10.0.0.0/8","gateway":{"a":1}}]'), /wrong type/],
  ['garbage in the IPv6 half', table('[]', '\x1b]52;c;aGk=\x07'), /not JSON/],
];

for (const [name, text, why] of bad) {
  test(`malformed routing table: ${name} is a HostOutputError, never a SyntaxError or TypeError`, () => {
    try {
      parseKernelRoutes(text);
      assert.unreachable('must throw');
    } catch (e) {
      assert.instance(e, HostOutputError);
      const h = e as HostOutputError;
      assert.match(h.message, /^the host's routing table could not be read: /);
      assert.match(h.message, why);
      assert.match(h.hint ?? '', 'ip -j -4 route show table main');
      assert.ok(h.output.length <= 400);
    }
  });
}

test.run();
