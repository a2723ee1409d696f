/** src/interrupt.ts with real signals sent to this process. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { catchInterrupts, catchInterruptsFor, onInterrupt, releaseInterrupts } from '../src/interrupt.js';
import { waitFor } from './helpers/time.js';

test('a SIGINT that comes before anyone subscribes is remembered and handed to the subscriber', async () => {
  catchInterrupts();
  try {
    let delivered = false;
    const witness = () => (delivered = true); // runs after routegen's own listener
    process.once('SIGINT', witness);
    process.kill(process.pid, 'SIGINT'); // would end this process without the handler
    await waitFor('the SIGINT to be delivered', () => delivered, 5000);
    const before = process.listenerCount('SIGINT');
    const seen: number[] = [];
    onInterrupt((n) => seen.push(n));
    assert.equal(seen, [1], 'the early interrupt is replayed once, at subscription');
    process.kill(process.pid, 'SIGTERM');
    await waitFor('the SIGTERM to reach the subscriber', () => seen.length === 2, 5000);
    assert.equal(seen, [1, 2], 'SIGTERM counts like Ctrl-C');
    assert.is(process.listenerCount('SIGINT'), before);
  } finally {
    releaseInterrupts();
  }
  assert.is(process.listenerCount('SIGINT'), 0, 'released: the default action applies again');
});

test('only push, diff and remove catch interrupts early; plan, render and status keep the default action', () => {
  for (const cmd of ['plan', 'render', 'status', 'discover', undefined]) {
    catchInterruptsFor(cmd);
    assert.is(process.listenerCount('SIGINT'), 0, String(cmd));
  }
  for (const cmd of ['push', 'diff', 'remove']) {
    catchInterruptsFor(cmd);
    catchInterruptsFor(cmd); // idempotent
    assert.is(process.listenerCount('SIGINT'), 1, cmd);
    releaseInterrupts();
  }
});

test.run();
