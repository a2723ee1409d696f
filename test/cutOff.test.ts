/** Telling "cut off" from "slow" after applying (src/push/cutOff.ts): the reconnect loop with a
 * stand-in connector, and the verdict from its timings. Against a real host: test/lab/bases.test.ts. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cutOffMessage, rollbackMarginS, startReconnect, wasCutOff } from '../src/push/cutOff.js';
import { RemoteError, type RemoteHost } from '../src/remote/connection.js';

const refused = () => new RemoteError('connect ECONNREFUSED', { kind: 'connect', step: 'connect', host: 'node-0' });
function fakeHost(log: string[]): RemoteHost {
  return { close: async () => void log.push('closed') } as unknown as RemoteHost;
}

test('reconnect: tries again after refusals until a connection gets through', async () => {
  let n = 0;
  const log: string[] = [];
  const r = await startReconnect(async () => (++n < 3 ? Promise.reject(refused()) : fakeHost(log)), 0, Date.now() + 5000, 5).result();
  assert.is(r.attempts, 3);
  assert.ok(r.conn);
  assert.is(r.failingSince, undefined, 'the last attempt got through');
  assert.ok(r.connectedAt! >= r.startedAt);
});

test('reconnect: gives up when the time is up, keeping the last error and since when it fails; a refused login is not retried', async () => {
  const t0 = Date.now();
  const r = await startReconnect(async () => Promise.reject(refused()), 0, Date.now() + 30, 5).result();
  assert.is(r.conn, undefined);
  assert.match(r.lastError!.message, 'ECONNREFUSED');
  assert.ok(r.failingSince! >= t0);
  const auth = new RemoteError('authentication failed', { kind: 'auth', step: 'authenticate', host: 'node-0' });
  let n = 0;
  try {
    await startReconnect(async () => (n++, Promise.reject(auth)), 0, Date.now() + 5000, 5).result();
    assert.unreachable('should throw');
  } catch (e) {
    assert.is(e, auth);
  }
  assert.is(n, 1);
});

test('reconnect: connections made while still applying are probes, closed; the one returned was started after result()', async () => {
  const log: string[] = [];
  let n = 0;
  const w = startReconnect(async () => (n++, fakeHost(log)), 0, Date.now() + 5000, 5);
  while (n < 3) await new Promise((res) => setTimeout(res, 5));
  const asked = Date.now();
  const r = await w.result();
  assert.ok(log.length >= 2, 'probes closed');
  assert.ok(r.conn && r.connectedAt! >= asked);
  await w.cancel();
  assert.ok(log.length <= n, 'nothing closed twice');
});

test('reconnect: nothing is tried before the delay; a cancelled watch closes what it made', async () => {
  let n = 0;
  const log: string[] = [];
  const early = startReconnect(async () => (n++, fakeHost(log)), 60_000, Date.now() + 120_000);
  await early.cancel();
  assert.is(n, 0, 'cancelled before its delay: no connection tried');
  const started = startReconnect(async () => (n++, fakeHost(log)), 0, Date.now() + 5000, 1000);
  await new Promise((res) => setTimeout(res, 20));
  await started.cancel();
  assert.is(n, 1);
  assert.equal(log, ['closed']);
});

test('cut off: no connection from the first try until the rollback was due; slow: one got through before', () => {
  const due = 100_000;
  assert.ok(wasCutOff({ startedAt: 10_000, failingSince: 12_000, connectedAt: 101_000, attempts: 5 }, due));
  assert.ok(wasCutOff({ startedAt: 10_000, failingSince: 10_000, attempts: 9 }, due), 'never got through');
  assert.not.ok(wasCutOff({ startedAt: 10_000, connectedAt: 11_000, attempts: 1 }, due), 'reachable before the rollback');
  assert.not.ok(wasCutOff({ startedAt: 10_000, connectedAt: 101_000, attempts: 30 }, due), 'probes got through all along, confirmed late: slow');
  assert.not.ok(wasCutOff({ startedAt: 100_500, failingSince: 100_500, connectedAt: 101_000, attempts: 2 }, due), 'first tried after it: slow, not cut off');
  assert.is(cutOffMessage('node-0', { startedAt: 9_000, failingSince: 10_000, connectedAt: 70_000, attempts: 7 }), 'after applying, node-0 accepted no new SSH connection for 60 s');
  assert.equal([4, 20, 60, 600].map(rollbackMarginS), [10, 10, 30, 30]);
});

test.run();
