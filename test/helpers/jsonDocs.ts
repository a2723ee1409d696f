/** Documents for the readers of nodes.json (jsonSlices.test.ts, jsonWindow.test.ts): Lists and
 * Nodes as fast-check values, written with a choice of whitespace, escapes and duplicate keys. */
import fc from 'fast-check';
import { UserError } from '../../src/errors.js';
import type { Shape } from '../../src/inventory/jsonSlices.js';
import type { Inventory, IpValue, Span } from '../../src/types.js';

/** JSON.parse's value cut down to `shape`, the way the fast reader should. */
export function prune(v: unknown, shape: Shape): unknown {
  if (shape === true) return v;
  if ('members' in shape && v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const out: Record<string, unknown> = {};
    for (const [name, s] of shape.members) if (Object.hasOwn(v, name)) out[name] = prune((v as Record<string, unknown>)[name], s);
    return out;
  }
  if ('each' in shape && Array.isArray(v)) return v.map((x) => prune(x, shape.each));
  return v;
}

// --- documents: a serializer with a choice of whitespace, escapes and one duplicated key --------

export interface Style {
  /** Whitespace put between tokens, taken in turn. */
  spaces: string[];
  /** Write every ASCII letter of strings (keys included) as \u00XX. */
  escapeLetters: boolean;
  /** Repeat the first key of the n-th object written (counting from 1), with another value; 0: none. */
  duplicateAt: number;
}

export function serialize(v: unknown, style: Style): string {
  let space = 0;
  let objects = 0;
  const sp = () => style.spaces[space++ % style.spaces.length] ?? '';
  const str = (s: string) => {
    const j = JSON.stringify(s);
    return style.escapeLetters ? j.replace(/[A-Za-z]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) : j;
  };
  const write = (x: unknown): string => {
    if (Array.isArray(x)) return `[${sp()}${x.map((e) => write(e)).join(`${sp()},${sp()}`)}${sp()}]`;
    if (x !== null && typeof x === 'object') {
      const entries = Object.entries(x).map(([k, e]) => `${str(k)}${sp()}:${sp()}${write(e)}`);
      if (++objects === style.duplicateAt && entries.length) entries.push(`${str(Object.keys(x)[0]!)}:${sp()}"again"`);
      return `{${sp()}${entries.join(`${sp()},${sp()}`)}${sp()}}`;
    }
    return typeof x === 'string' ? str(x) : JSON.stringify(x);
  };
  return `${sp()}${write(v)}${sp()}`;
}

export const style = (duplicates: boolean): fc.Arbitrary<Style> =>
  fc.record({
    spaces: fc.array(fc.constantFrom('', ' ', '\n', '\t', '\r\n', '  \n    '), { minLength: 1, maxLength: 4 }),
    escapeLetters: fc.boolean(),
    duplicateAt: duplicates ? fc.integer({ min: 1, max: 12 }) : fc.constant(0),
  });

/** Fields routegen skips: nested objects, arrays, unicode, escapes-to-be, numbers. */
const junk = fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.jsonValue({ maxDepth: 3, stringUnit: 'grapheme' }), { maxKeys: 3 });
const address = fc.record({
  type: fc.constantFrom('InternalIP', 'InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS'),
  address: fc.constantFrom('192.168.10.1', '192.168.10.2', '10.0.0.7', 'fd00::7', 'node-9.kubernetes.local', '10.0.0.1/24', 'x'),
});
export const nodeArb = fc
  .record({
    name: fc.constantFrom('node-0', 'node-1', 'node-2.kubernetes.local', 'Node_3', ''),
    addresses: fc.array(address, { maxLength: 3 }),
    cidrs: fc.option(fc.array(fc.constantFrom('10.200.0.0/24', '10.200.1.0/24', 'fd00:10::/64', '10.200.0.1/24', 'bad'), { maxLength: 2 }), { nil: undefined }),
    cidr: fc.option(fc.constantFrom('10.200.0.0/24', '10.200.1.0/24'), { nil: undefined }),
    junk: fc.tuple(junk, junk, junk, junk),
  })
  .map(({ name, addresses, cidrs, cidr, junk: [a, b, c, d] }) => ({
    ...a,
    kind: 'Node',
    metadata: { ...b, name },
    status: { ...c, addresses },
    spec: { ...d, ...(cidrs ? { podCIDRs: cidrs } : {}), ...(cidr ? { podCIDR: cidr } : {}) },
  }));
export const listArb = fc.array(nodeArb, { minLength: 1, maxLength: 4 }).map((items) => ({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } }));

const span = (s: Span) => `${s.column}+${s.length}`;
const ip = (a: IpValue) => `${a.text}@${span(a.span)}`;
/** Everything a caller can read of the result: the machines with their positions, or the problems. */
export function outcome(read: () => Inventory): unknown {
  try {
    return read().machines.map((m) => ({
      hostname: m.hostname,
      fqdn: m.fqdn,
      addresses: m.addresses.map(ip),
      podSubnets: m.podSubnets.map(ip),
      line: m.line,
      source: m.source,
      spans: [span(m.spans.ip), span(m.spans.fqdn), span(m.spans.hostname), m.spans.subnet && span(m.spans.subnet)],
    }));
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return { message: e.message, problems: e.problems };
  }
}
