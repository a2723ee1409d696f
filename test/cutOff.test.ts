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
  assert.equal(r.tries.map((t) => t.okAt !== undefined), [false, false, true]);
  assert.ok(r.connectedAt! >= r.startedAt);
});

test('reconnect: gives up when the time is up, keeping the last error and since when it fails; a refused login is not retried', async () => {
  const t0 = Date.now();
  const r = await startReconnect(async () => Promise.reject(refused()), 0, Date.now() + 30, 5).result();
  assert.is(r.conn, undefined);
  assert.match(r.lastError!.message, 'ECONNREFUSED');
  assert.ok(r.tries.length > 0 && r.tries.every((t) => t.okAt === undefined && t.at >= t0));
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
  const r = (tries: Array<[number, number?]>) => ({ startedAt: tries[0]![0], attempts: tries.length, tries: tries.map(([at, okAt]) => ({ at, okAt })) });
  assert.ok(wasCutOff(r([[10_000], [21_000], [32_000, 101_000]]), due), 'failing from 10 s, through after the rollback');
  assert.ok(wasCutOff(r([[10_000, 10_500], [14_000], [25_000]]), due), 'a probe got through, then none until the end');
  assert.ok(wasCutOff(r([[10_000], [90_000, 100_900]]), due), 'a probe that got through only after the rollback does not count');
  assert.ok(wasCutOff(r([[6_000, 6_500], [10_000, 101_000]]), due), 'an attempt that hung until after the rollback');
  assert.not.ok(wasCutOff(r([[10_000, 11_000]]), due), 'reachable before the rollback');
  assert.not.ok(wasCutOff(r([[10_000], [12_000, 13_000], [40_000, 40_500], [101_000, 101_200]]), due), 'failed once, then got through before the rollback: slow');
  assert.not.ok(wasCutOff(r([[100_500], [101_000, 101_500]]), due), 'first tried after it: slow, not cut off');
  assert.is(cutOffMessage('node-0', r([[5_000, 5_200], [10_000], [40_000, 110_000]]), due), 'after applying, node-0 accepted no new SSH connection for 100 s');
  assert.equal([4, 20, 60, 600].map(rollbackMarginS), [20, 20, 30, 60]);
});

test.run();
