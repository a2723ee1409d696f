/**
 * The fast reader of nodes.json (src/inventory/jsonSlices.ts) against the full one (JSON.parse +
 * jsonDocument.ts): on every document, valid or not, parseKubectlNodes gives the same machines
 * (positions included) or the same problems both ways; on a valid document without duplicate keys
 * the fast reader is the one used, and gives JSON.parse's value pruned to what routegen reads.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { parseKubectlNodes } from '../src/inventory/kubectl.js';
import { readShaped, SHAPE } from '../src/inventory/jsonSlices.js';
import { MAX_DEPTH } from '../src/inventory/jsonSyntax.js';
import { listArb, nodeArb, outcome, prune, serialize, style } from './helpers/jsonDocs.js';
import { runSeed } from './helpers/mutate.js';

const RUNS = { numRuns: 150, seed: runSeed('FUZZ_SEED', 0x736c6963) };

/** Both readers on the text, and on its bytes; the fast reader's result for the text. */
function bothWays(text: string): unknown {
  const full = outcome(() => parseKubectlNodes(text, 'nodes.json', 'full'));
  assert.equal(outcome(() => parseKubectlNodes(text, 'nodes.json', 'fast')), full, 'text, fast vs full');
  const bytes = Buffer.from(text, 'utf8');
  assert.equal(outcome(() => parseKubectlNodes(bytes, 'nodes.json', 'fast')), outcome(() => parseKubectlNodes(bytes.toString('utf8'), 'nodes.json', 'full')), 'bytes, fast vs full');
  return full;
}

test('a valid document without duplicate keys is read by the fast reader, as JSON.parse reads it', () => {
  fc.assert(
    fc.property(fc.oneof(listArb, nodeArb), style(false), (doc, s) => {
      const text = serialize(doc, s);
      assert.equal(readShaped(text)?.value, prune(JSON.parse(text), SHAPE));
      bothWays(text);
    }),
    RUNS,
  );
});

test('any JSON value: the fast reader gives JSON.parse pruned, or gives way', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }), style(false), (v, s) => {
      const text = serialize(v, s);
      const fast = readShaped(text);
      // A lone surrogate cannot go through UTF-8: only then may it give way.
      if (fast === null) assert.ok(/[\ud800-\udfff]/.test(text), 'gave way on a valid document');
      else assert.equal(fast.value, prune(JSON.parse(text), SHAPE));
    }),
    RUNS,
  );
});

test('a duplicate key anywhere (JSON.parse keeps the last): the fast reader gives way, the result is the full reader’s', () => {
  fc.assert(
    fc.property(listArb, style(true), (doc, s) => {
      const text = serialize(doc, s);
      if (text === serialize(doc, { ...s, duplicateAt: 0 })) return; // fewer objects than duplicateAt
      assert.is(readShaped(text), null);
      bothWays(text);
    }),
    RUNS,
  );
});

test('a damaged document (a character deleted or inserted) gives the same problems or machines both ways', () => {
  fc.assert(
    fc.property(listArb, style(false), fc.nat(), fc.constantFrom('', ',', '"', '}', ']', '\\', '\u0001', '1', 'x', ' '), (doc, s, at, insert) => {
      const text = serialize(doc, s);
      const i = at % text.length;
      bothWays(text.slice(0, i) + insert + text.slice(i + (insert === '' ? 1 : 0)));
    }),
    RUNS,
  );
});

test('nesting: MAX_DEPTH levels are read fast, one more is the full reader’s error', () => {
  const nested = (depth: number) => `{"kind":"Node","metadata":{"name":"node-0","x":${'['.repeat(depth - 2)}${']'.repeat(depth - 2)}},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"}]}}`;
  assert.ok(readShaped(nested(MAX_DEPTH)), 'MAX_DEPTH levels');
  assert.is(bothWays(nested(MAX_DEPTH)) instanceof Array, true);
  assert.is(readShaped(nested(MAX_DEPTH + 1)), null);
  assert.match(JSON.stringify(bothWays(nested(MAX_DEPTH + 1))), /nested more than 256 levels/);
});

test('bytes: a byte order mark, and bytes that are not UTF-8 in a skipped string and in a name, read as the decoded text is', () => {
  const doc = (name: Buffer) =>
    Buffer.concat([Buffer.from('\ufeff{"kind":"Node","metadata":{"annotations":{"a":"'), Buffer.from([0xff, 0xc3, 0x41]), Buffer.from('"},"name":"'), name, Buffer.from('"},\n"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"}]}}')]);
  for (const bytes of [doc(Buffer.from('node-0')), doc(Buffer.from([0x6e, 0xe9, 0x30]))]) {
    assert.equal(outcome(() => parseKubectlNodes(bytes, 'nodes.json', 'fast')), outcome(() => parseKubectlNodes(bytes.toString('utf8'), 'nodes.json', 'full')));
  }
  assert.ok(readShaped(doc(Buffer.from('node-0'))), 'read fast');
});

test('every mistake JSON.parse refuses, in a skipped value, makes the fast reader give way', () => {
  const doc = (x: string) => `{"kind":"Node","metadata":{"name":"node-0","x":${x}},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"}]}}`;
  assert.ok(readShaped(doc('[1, -0.5e+3, "a\\u00e9\\n", true, false, null, {}]')), 'a valid value');
  for (const bad of ['"a\u0001b"', '"a\tb"', '"\\x"', '"\\u12g4"', '"a', '01', '1.', '.5', '-', '1e', '+1', 'tru', 'nul', 'True', '[1,]', '{"a":1,}', '[1 2]', '{"a" 1}', '{a:1}', "'a'", '[', '{', '}']) {
    const text = doc(bad);
    assert.is(readShaped(text), null, bad);
    assert.equal(bothWays(text), outcome(() => parseKubectlNodes(text, 'nodes.json', 'full')));
  }
  assert.is(readShaped(`${doc('1')} x`), null, 'text after the document');
  assert.is(readShaped(''), null, 'no document');
});

test('keys that are not UTF-8: different bytes the decoder reads as the same key are a duplicate both ways', () => {
  const bytes = Buffer.concat([Buffer.from('{"kind":"Node","metadata":{"name":"node-0","a'), Buffer.from([0xff]), Buffer.from('":1,"a'), Buffer.from([0xfe]), Buffer.from('":2},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"}]}}')]);
  assert.is(readShaped(bytes), null);
  assert.equal(outcome(() => parseKubectlNodes(bytes, 'nodes.json', 'fast')), outcome(() => parseKubectlNodes(bytes.toString('utf8'), 'nodes.json', 'full')));
  assert.match(JSON.stringify(outcome(() => parseKubectlNodes(bytes, 'nodes.json', 'fast'))), /duplicate key/);
});

test.run();
