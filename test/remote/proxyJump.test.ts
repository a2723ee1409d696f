/** ProxyJump values as OpenSSH's parse_jump reads them (src/remote/proxyJump.ts). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RemoteError } from '../../src/remote/errors.js';
import { formatProxyJump, parseProxyJump } from '../../src/remote/proxyJump.js';

const where = { host: 'node-0', source: 'ProxyJump' };

test('one hop, user@host:port, chains first hop first, ssh:// URIs, bracketed IPv6', () => {
  assert.equal(parseProxyJump('bastion', where), [{ host: 'bastion' }]);
  assert.equal(parseProxyJump('admin@bastion.example.com:2222', where), [{ user: 'admin', host: 'bastion.example.com', port: 2222 }]);
  assert.equal(parseProxyJump('a,root@b:23', where), [{ host: 'a' }, { user: 'root', host: 'b', port: 23 }]);
  assert.equal(parseProxyJump('ssh://deploy@10.0.0.1:2200', where), [{ user: 'deploy', host: '10.0.0.1', port: 2200 }]);
  assert.equal(parseProxyJump('u@[fd00::1]:22', where), [{ user: 'u', host: 'fd00::1', port: 22 }]);
  assert.equal(parseProxyJump('fd00::1', where), [{ host: 'fd00::1' }]);
});

test('none (any case) means no jump host; a trailing comment is ignored', () => {
  assert.equal(parseProxyJump('none', where), []);
  assert.equal(parseProxyJump('NONE', where), []);
  assert.equal(parseProxyJump('bastion # the way in', where), [{ host: 'bastion' }]);
});

test('a malformed hop is a config error naming the value, the host and the form', () => {
  for (const [value, why] of [['b:99999', 'invalid port "99999"'], ['bad user@b', 'invalid user name "bad user"'], ['a,,b', 'invalid host ""'], ['b;rm', 'invalid host "b;rm"']] as const) {
    try {
      parseProxyJump(value, where);
      assert.unreachable(value);
    } catch (e) {
      assert.instance(e, RemoteError, value);
      const err = e as RemoteError;
      assert.is(err.kind, 'config');
      assert.match(err.message, `ProxyJump for node-0`);
      assert.match(err.message, why);
      assert.match(err.hint ?? '', '[user@]host[:port]');
    }
  }
});

test('formatProxyJump gives back what parseProxyJump read', () => {
  for (const v of ['a', 'root@b:23', 'a,u@[fd00::1]:2222,c']) assert.is(formatProxyJump(parseProxyJump(v, where)), v);
});

test.run();
