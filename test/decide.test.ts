/**
 * decide(): what push does to a host from what it found there, over every finite combination and
 * over random states (fast-check), against the rules its doc comments state. And withCommit: any
 * throw on an armed host restores it exactly once and surfaces as a CommitFailure.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CommitFailure, withCommit, type Restored } from '../src/push/commit.js';
import { decide, fileInSync, type Decision, type HostState, type RunMode } from '../src/push/decide.js';
import { StepError } from '../src/push/failure.js';

const PLANNED = '[Route]\nDestination=10.200.1.0/24\nGateway=192.168.10.2\n';
const MODE = 0o644;
const RUN_MODES: RunMode[] = ['push', 'dry-run', 'diff'];

interface Case {
  current: 'none' | 'same' | 'different';
  modeSame: boolean;
  planned: string | null;
  kernelOk: boolean | undefined;
  run: RunMode;
}

function stateOf(c: Case): HostState {
  const current = c.current === 'none' ? null : c.current === 'same' ? c.planned : 'an older file\n';
  const currentMode = current === null ? null : c.modeSame ? MODE : 0o600;
  return { current, currentMode, planned: c.planned, mode: MODE, ...(c.kernelOk !== undefined && { kernelOk: c.kernelOk }) };
}

/** The rules, as the doc comments of decide.ts word them, case by case. */
function expected(c: Case): Decision {
  const s = stateOf(c);
  // "The file is as planned, mode included (no file planned and none there counts)."
  const inSync = s.current === s.planned && (s.planned === null || c.modeSame);
  if (c.run !== 'push') return { action: 'show', outcome: inSync ? 'unchanged' : 'would change', guard: c.run === 'dry-run' && !inSync };
  if (!inSync) return { action: 'write' };
  if (c.kernelOk === undefined) return { action: 'read-kernel' };
  return c.kernelOk ? { action: 'none' } : { action: 'repair' };
}

const cases: Case[] = [];
for (const current of ['none', 'same', 'different'] as const)
  for (const modeSame of [true, false])
    for (const planned of [null, PLANNED])
      for (const kernelOk of [undefined, true, false])
        for (const run of RUN_MODES) cases.push({ current, modeSame, planned, kernelOk, run });

test('decide, every finite combination: as its doc comments say', () => {
  assert.is(cases.length, 3 * 2 * 2 * 3 * 3);
  for (const c of cases) assert.equal(decide(stateOf(c), c.run), expected(c), JSON.stringify(c));
});

test('decide, landmarks: a new file is written, a right file with a wrong kernel repaired, a wrong mode rewritten', () => {
  assert.equal(decide({ current: null, currentMode: null, planned: PLANNED, mode: MODE }, 'push'), { action: 'write' });
  assert.equal(decide({ current: PLANNED, currentMode: MODE, planned: PLANNED, mode: MODE, kernelOk: false }, 'push'), { action: 'repair' });
  assert.equal(decide({ current: PLANNED, currentMode: 0o600, planned: PLANNED, mode: MODE, kernelOk: true }, 'push'), { action: 'write' });
  assert.equal(decide({ current: null, currentMode: null, planned: null, mode: MODE, kernelOk: true }, 'push'), { action: 'none' });
  assert.equal(decide({ current: PLANNED, currentMode: MODE, planned: null, mode: MODE }, 'dry-run'), { action: 'show', outcome: 'would change', guard: true });
  assert.equal(decide({ current: PLANNED, currentMode: MODE, planned: null, mode: MODE }, 'diff'), { action: 'show', outcome: 'would change', guard: false });
});

const text = fc.oneof(fc.constant(null), fc.constant(PLANNED), fc.string({ maxLength: 20 }));
const modeArb = fc.oneof(fc.constant(null), fc.constantFrom(0o600, 0o644), fc.integer({ min: 0, max: 0o7777 }));
const stateArb = fc.record(
  { current: text, currentMode: modeArb, planned: text, mode: fc.constantFrom(0o600, 0o644), kernelOk: fc.constantFrom(undefined, true, false) },
  { requiredKeys: ['current', 'currentMode', 'planned', 'mode'] },
) as fc.Arbitrary<HostState>;
const runArb = fc.constantFrom<RunMode>(...RUN_MODES);

test("property: 'show' exactly when not pushing; its outcome says whether the file is in sync", () => {
  fc.assert(
    fc.property(stateArb, runArb, (s, run) => {
      const d = decide(s, run);
      if ((d.action === 'show') !== (run !== 'push')) return false;
      return d.action !== 'show' || d.outcome === (fileInSync(s) ? 'unchanged' : 'would change');
    }),
  );
});

test('property: the guard runs only on a dry run of a file that would change', () => {
  fc.assert(fc.property(stateArb, runArb, (s, run) => {
    const d = decide(s, run);
    return d.action !== 'show' || d.guard === (run === 'dry-run' && !fileInSync(s));
  }));
});

test("property: never 'write' when the file is in sync; always 'write' on a push when it is not", () => {
  fc.assert(fc.property(stateArb, (s) => (decide(s, 'push').action === 'write') === !fileInSync(s)));
});

test("property: 'repair' only when in sync and the kernel was read as wrong; 'none' only when read as right", () => {
  fc.assert(
    fc.property(stateArb, runArb, (s, run) => {
      const a = decide(s, run).action;
      if (a === 'repair' && !(fileInSync(s) && s.kernelOk === false)) return false;
      if (a === 'none' && !(fileInSync(s) && s.kernelOk === true)) return false;
      return a !== 'read-kernel' || (fileInSync(s) && s.kernelOk === undefined);
    }),
  );
});

test('property: the file is in sync only when its text is the planned text (and its mode, when one is planned)', () => {
  fc.assert(
    fc.property(stateArb, (s) => {
      if (s.current !== s.planned) return !fileInSync(s);
      if (s.planned !== null && s.currentMode !== s.mode) return !fileInSync(s);
      return fileInSync(s);
    }),
  );
});

/** A restore that counts its calls and records the cause it was given. */
function counting(result: Restored | Error) {
  const calls: unknown[] = [];
  const restore = async (cause: unknown) => {
    calls.push(cause);
    if (result instanceof Error) throw result;
    return result;
  };
  return { calls, restore };
}

async function failureOf(p: Promise<unknown>): Promise<CommitFailure> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, CommitFailure);
    return e as CommitFailure;
  }
  throw new Error('withCommit resolved; a CommitFailure was expected');
}

test('withCommit: work that succeeds returns its value and restores nothing', async () => {
  const r = counting({ outcome: 'rolled back' });
  assert.is(await withCommit(r.restore, async () => 'changed'), 'changed');
  assert.equal(r.calls, []);
});

test("withCommit: a host's failure restores once and carries the restore's result", async () => {
  const r = counting({ outcome: 'rolled back' });
  const cause = new StepError('verify', 'the kernel does not have the planned routes');
  const f = await failureOf(withCommit(r.restore, async () => Promise.reject(cause)));
  assert.equal(r.calls, [cause]);
  assert.is(f.cause, cause);
  assert.equal(f.restored, { outcome: 'rolled back' });
  assert.is(f.error('apply').message, 'the kernel does not have the planned routes');
});

test('withCommit: a bug (a TypeError) restores once too, and is reported as an internal error with its stack', async () => {
  const r = counting({ outcome: 'rolled back' });
  const f = await failureOf(
    withCommit(r.restore, async () => {
      const answer = undefined as unknown as { stdout: string };
      return answer.stdout; // throws TypeError
    }),
  );
  assert.is(r.calls.length, 1);
  assert.instance(r.calls[0], TypeError);
  assert.is(f.restored.outcome, 'rolled back');
  const e = f.error('verify');
  assert.match(e.message, /^internal error: /);
  assert.match(e.internal ?? '', /TypeError/);
});

test('withCommit: a restore that throws still yields a CommitFailure, outcome failed, saying so', async () => {
  const r = counting(new Error('connection lost'));
  const f = await failureOf(withCommit(r.restore, async () => Promise.reject(new StepError('confirm', 'confirming failed (exit 1)'))));
  assert.is(r.calls.length, 1);
  assert.is(f.restored.outcome, 'failed');
  assert.is(f.error('confirm').message, 'confirming failed (exit 1); rolling back failed too: connection lost');
});

test("withCommit: the restore's own message (the host's timer was first) replaces the error's", async () => {
  const r = counting({ outcome: 'rolled back', message: 'rolled back on the host before it could be confirmed', hint: 'raise --confirm-timeout' });
  const f = await failureOf(withCommit(r.restore, async () => Promise.reject(new StepError('confirm', 'x'))));
  assert.equal(f.error('confirm'), { step: 'confirm', message: 'rolled back on the host before it could be confirmed', hint: 'raise --confirm-timeout' });
});

test.run();
