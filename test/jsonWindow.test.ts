/**
 * nodes.json read through a window (src/inventory/byteWindow.ts, jsonSlices.ts, inputFile.ts):
 * with windows of 1 to 64 bytes and reads of any length, so that a window's end falls inside
 * every key, escape, number, literal and multi-byte UTF-8 character, the fast reader gives what
 * it gives over the whole bytes; a kept value larger than the window grows it, a skipped one does
 * not. A large file read by parseInventoryText gives the machines, positions and problems its
 * bytes give.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { ByteWindow, WINDOW_BYTES } from '../src/inventory/byteWindow.js';
import { InputFile, openInventoryFile } from '../src/inventory/inputFile.js';
import { readShaped } from '../src/inventory/jsonSlices.js';
import { detectInventoryFormat, parseInventoryText, parseKubectlNodes } from '../src/inventory/kubectl.js';
import { listArb, nodeArb, outcome, serialize, style } from './helpers/jsonDocs.js';
import { runSeed } from './helpers/mutate.js';
import { writeNodesJson } from '../bench/lib/nodes.js';

const RUNS = { numRuns: 150, seed: runSeed('FUZZ_SEED', 0x77696e64) };

/** A window of `size` bytes over `bytes`, whose reads give at most `chunk(position)` bytes each;
 * `largest` is the most the window ever held. */
function windowed(bytes: Buffer, size: number, chunk: (position: number) => number = () => size) {
  const seen = { largest: 0 };
  const w = new ByteWindow((t, at, length, position) => {
    const n = bytes.copy(t, at, position, Math.min(bytes.length, position + Math.min(length, Math.max(1, chunk(position)))));
    seen.largest = Math.max(seen.largest, w.buf.length);
    return n;
  }, size);
  return { w, seen };
}

/** The fast reader over the whole bytes and through windows of every size in `sizes`: the same. */
function sameThroughWindows(bytes: Buffer, sizes: Iterable<number>, chunk?: (size: number) => (position: number) => number): void {
  const whole = readShaped(bytes);
  for (const size of sizes) assert.equal(readShaped(windowed(bytes, size, chunk?.(size)).w), whole, `window of ${size} bytes`);
}

test('every document, valid or not: through windows of 1 to 64 bytes and reads of any length, what the whole bytes give', () => {
  const damaged = fc.tuple(listArb, style(false), fc.nat(), fc.constantFrom('', ',', '"', '}', '\\', '\u0001', '1', 'x')).map(([doc, s, at, insert]) => {
    const text = serialize(doc, s);
    const i = at % text.length;
    return text.slice(0, i) + insert + text.slice(i + (insert === '' ? 1 : 0));
  });
  const doc = fc.oneof(fc.tuple(fc.oneof(listArb, nodeArb), style(true)).map(([d, s]) => serialize(d, s)), damaged, fc.tuple(fc.jsonValue({ maxDepth: 4 }), style(false)).map(([v, s]) => serialize(v, s)));
  fc.assert(
    fc.property(doc, fc.boolean(), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 }), (text, bom, size, step) => {
      const bytes = Buffer.from(bom ? `\ufeff${text}` : text, 'utf8');
      sameThroughWindows(bytes, [size], () => (position) => 1 + ((position * 7 + step) % step));
    }),
    RUNS,
  );
});

test('every split: keys with escapes and non-ASCII characters, numbers, literals, 2-, 3- and 4-byte UTF-8, a BOM', () => {
  const node = (name: string) =>
    `{"kind":"Node","metadata":{"name":"${name}","annotations":{"k\\u00e9y":"v\\n\\"\\\\\\/\\u2028","ké😀y":"é€😀","n":[-0.5e+3,1E-2,0,-0,12.75e0,true,false,null,{},[]]},` +
    `"l\\u0061bels":{}},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"},{"type":"Hostname","address":"${name}","x":[1.5,true,null,"é€😀\\ud83d\\ude00"]}]},"spec":{"podCIDR":"10.200.0.0/24","podCIDRs":["10.200.0.0/24"]}}`;
  const text = `\ufeff{"apiVersion":"v1","kind":"List","items":[${node('node-0')},\n  ${node('nöde-1')}\r\n],"metadata":{"resourceVersion":""}}  \n`;
  const bytes = Buffer.from(text, 'utf8');
  assert.ok(readShaped(bytes), 'read fast');
  const sizes = Array.from({ length: 64 }, (_, i) => i + 1);
  sameThroughWindows(bytes, sizes);
  sameThroughWindows(bytes, sizes, () => () => 1);
  sameThroughWindows(bytes, sizes, (size) => (position) => 1 + (position % size));
  // Mistakes at the end: a split just before them must not hide them.
  for (const cut of [1, 2, 5]) sameThroughWindows(bytes.subarray(0, bytes.length - cut - 3), sizes);
  sameThroughWindows(Buffer.from(text.replace('true', 'tru ').replace('-0.5e+3', '-0.5e+'), 'utf8'), sizes);
});

test('a kept value larger than the window grows it; a skipped one does not', () => {
  const big = 'x'.repeat(5000);
  const text = `{"kind":"Node","metadata":{"name":"node-0","annotations":{"a":"${big}","b":[${'1,'.repeat(2000)}2]}},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1","note":"${big}"}]}}`;
  const bytes = Buffer.from(text, 'utf8');
  for (const size of [1, 7, 64]) {
    const { w, seen } = windowed(bytes, size);
    assert.equal(readShaped(w), readShaped(bytes));
    assert.ok(seen.largest >= 5000 && seen.largest <= 4 * 5100, `window of ${size} grew to ${seen.largest} bytes: the kept address`);
  }
  const skipped = Buffer.from(text.replace(`,"note":"${big}"`, ''), 'utf8');
  const { w, seen } = windowed(skipped, 64);
  assert.equal(readShaped(w), readShaped(skipped));
  assert.ok(seen.largest <= 256, `a window of 64 bytes grew to ${seen.largest} over skipped values`);
});

test('a large file: read through the window, and whole only for a message; the same machines, positions and problems as its bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'routegen-window-'));
  try {
    const file = join(dir, 'nodes.json');
    writeNodesJson(file, 80);
    const bytes = readFileSync(file);
    assert.ok(bytes.length > WINDOW_BYTES, `${bytes.length} bytes: more than one window`);
    const variants: Array<[string, Buffer]> = [
      ['valid', bytes],
      ['a duplicate node name', Buffer.from(bytes.toString('utf8').replace('"node-7"', '"node-3"'), 'utf8')],
      ['a syntax error near the end', Buffer.concat([bytes.subarray(0, bytes.length - 300), Buffer.from(','), bytes.subarray(bytes.length - 300)])],
      ['blanks first', Buffer.concat([Buffer.from(' '.repeat(5000)), bytes])],
    ];
    for (const [what, content] of variants) {
      writeFileSync(file, content);
      const input = openInventoryFile(file);
      assert.ok(input instanceof InputFile, what);
      assert.is(detectInventoryFormat(input), 'kubectl', what);
      assert.equal(outcome(() => parseInventoryText(input, 'nodes.json')), outcome(() => parseKubectlNodes(content, 'nodes.json')), what);
    }
    writeFileSync(file, '10.0.0.1 node-0.example node-0 10.200.0.0/24\n'.repeat(Math.ceil((WINDOW_BYTES * 1.1) / 45)));
    const machines = openInventoryFile(file);
    assert.ok(machines instanceof InputFile);
    assert.is(detectInventoryFormat(machines), 'machines');
    assert.equal(outcome(() => parseInventoryText(machines, 'machines.txt')), outcome(() => parseInventoryText(readFileSync(file), 'machines.txt')));
    writeFileSync(file, '{}');
    assert.ok(Buffer.isBuffer(openInventoryFile(file)), 'a small file: its bytes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a valid file is not read whole until a position is asked for; if it changed by then, that is said', () => {
  const dir = mkdtempSync(join(tmpdir(), 'routegen-window-'));
  try {
    const file = join(dir, 'nodes.json');
    writeNodesJson(file, 80);
    const inv = parseInventoryText(openInventoryFile(file), 'nodes.json');
    assert.is(inv.machines.length, 80);
    writeFileSync(file, readFileSync(file).subarray(0, 100));
    assert.is(inv.machines[5]!.hostname, 'node-5');
    assert.throws(() => inv.machines[5]!.line, /changed while routegen was reading it/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
