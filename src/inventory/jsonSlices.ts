/**
 * The fast reader of `kubectl get nodes -o json`: one pass over the file's bytes that checks the
 * whole document and decodes only the values routegen reads (SHAPE below), skipping the rest
 * (managedFields, images, annotations: ~95% of a node) without building a string or an object
 * for it. A 105 MB file of 5,000 nodes is never decoded to one JS string nor parsed into objects.
 *
 * It gives exactly what JSON.parse + jsonDocument.ts would give, pruned to SHAPE, or nothing:
 * whenever it is not sure (a syntax error, nesting deeper than MAX_DEPTH, two keys of one object
 * that may be equal, an object with more than MAX_KEYS keys) it gives
 * up and the caller reads the text the full way (kubectl.ts), which says what is wrong and where.
 * So every message and position stays the full path's.
 *
 * It reads a file through a window (byteWindow.ts) with absolute positions: byte i is
 * `b[i - off]`, and a loop that reaches the window's end asks for more, keeping the bytes from
 * `pin` on (the key being read, or the value being kept whole, which JSON.parse decodes).
 *
 * Duplicate keys: each object's keys are hashed (FNV-1a over the decoded key's UTF-16 code units:
 * the bytes of an ASCII key, else the key decoded as the full reader decodes it) and compared
 * with the object's earlier keys; equal hashes (a duplicate, or rarely a collision) give up.
 */
import { ByteWindow } from './byteWindow.js';
import { MAX_DEPTH } from './jsonSyntax.js';

/** What is kept of a value: all of it (true), some members of an object, or each element of an
 * array shaped. A value that is not the object or array expected is kept whole. */
export type Shape = true | { readonly members: ReadonlyMap<string, Shape> } | { readonly each: Shape };

const obj = (members: Record<string, Shape>): Shape => ({ members: new Map(Object.entries(members)) });
/** Every member kubectl.ts and kubectlNode.ts read of a Node (and of the document's root). */
const NODE_MEMBERS = { kind: true, metadata: obj({ name: true }), status: obj({ addresses: true }), spec: obj({ podCIDR: true, podCIDRs: true }) } as const;
const NODE = obj(NODE_MEMBERS);
/** A List or NodeList (`items`), or a single Node. */
export const SHAPE: Shape = obj({ ...NODE_MEMBERS, items: { each: NODE } });

/** Keys of one object compared pairwise, at most (more: the full reader). */
const MAX_KEYS = 512;
const FAIL = -1;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;
const isHex = (c: number | undefined) => c !== undefined && ((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66));
/** The characters a JSON escape may name after the backslash, other than u: " \ / b f n r t. */
const isEscape = (c: number | undefined) => c === QUOTE || c === BACKSLASH || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74;

function hashString(s: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** A lone surrogate would not survive the round trip through UTF-8 bytes. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The document's value pruned to `shape`, as JSON.parse would give it, or null when the full
 * reader must decide. A leading byte order mark is skipped. Bytes held whole, or a window that
 * reads them on (from its start).
 */
export function readShaped(input: string | Buffer | ByteWindow, shape: Shape = SHAPE): { value: unknown; problems: [] } | null {
  if (typeof input === 'string' && LONE_SURROGATE.test(input)) return null;
  const w = input instanceof ByteWindow ? input : new ByteWindow(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  /** The window: b[i - off] is byte i, for off <= i < stop. */
  let b = w.buf;
  let off = w.off;
  let stop = off + w.len;
  /** The earliest position still needed (-1: none but the current one). */
  let pin = -1;
  let hashes = new Int32Array(1024);
  let top = 0;
  /** The value kept by the last shaped read. */
  let built: unknown;
  /** Set by key(): its hash, and its text when it has escapes. */
  let keyHash = 0;
  let keyText: string | undefined;

  /** Reads on from `from` (<= stop); false at the end of the input. */
  const more = (from: number): boolean => {
    const ok = w.more(pin >= 0 && pin < from ? pin : from);
    b = w.buf;
    off = w.off;
    stop = off + w.len;
    return ok;
  };
  /** Byte i, or undefined past the end of the input. */
  const at = (i: number): number | undefined => {
    while (i >= stop) if (!more(stop)) return undefined;
    return b[i - off];
  };
  const ws = (i: number): number => {
    for (;;) {
      const bytes = b;
      const o = off;
      const lim = stop - o;
      let r = i - o;
      while (r < lim) {
        const c = bytes[r]!;
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) r++;
        else return r + o;
      }
      i = r + o;
      if (!more(i)) return i;
    }
  };
  const escape = (j: number): number => {
    const e = at(j + 1);
    if (e === 0x75) return isHex(at(j + 2)) && isHex(at(j + 3)) && isHex(at(j + 4)) && isHex(at(j + 5)) ? j + 6 : FAIL;
    return isEscape(e) ? j + 2 : FAIL;
  };
  /** Past the string at `i` (its opening quote), or FAIL. */
  const string = (i: number): number => {
    let j = i + 1;
    for (;;) {
      const bytes = b;
      const o = off;
      const lim = stop - o;
      let r = j - o;
      scan: {
        while (r < lim) {
          const c = bytes[r]!;
          if (c > QUOTE && c !== BACKSLASH) r++; // most bytes: one test
          else if (c === QUOTE) return r + o + 1;
          else if (c === BACKSLASH) break scan;
          else if (c >= 0x20) r++;
          else return FAIL; // a control character
        }
        j = r + o;
        if (!more(j)) return FAIL; // the file ends inside the string
        continue;
      }
      j = escape(r + o);
      if (j < 0) return FAIL;
    }
  };
  /** string() for a key, setting keyHash and keyText; the key's bytes stay in the window. */
  const key = (i: number): number => {
    const saved = pin;
    if (pin < 0 || i < pin) pin = i;
    let h = 0x811c9dc5 | 0;
    /** An escape or a non-ASCII byte: the key's characters are not its bytes. */
    let decode = false;
    let j = i + 1;
    for (;;) {
      const bytes = b;
      const o = off;
      const lim = stop - o;
      let r = j - o;
      scan: {
        while (r < lim) {
          const c = bytes[r]!;
          if (c === QUOTE) {
            keyText = decode ? (JSON.parse(bytes.toString('utf8', i - o, r + 1)) as string) : undefined;
            keyHash = keyText === undefined ? h : hashString(keyText);
            pin = saved;
            return r + o + 1;
          }
          if (c === BACKSLASH) break scan;
          if (c < 0x20) break;
          if (c >= 0x80) decode = true;
          h = Math.imul(h ^ c, 0x01000193);
          r++;
        }
        j = r + o;
        if (r < lim || !more(j)) break; // a control character, or the end inside the key
        continue;
      }
      decode = true;
      j = escape(r + o);
      if (j < 0) break;
    }
    pin = saved;
    return FAIL;
  };
  /** The member of `members` named by the key [start, end) (quotes included), if any. */
  const memberOf = (members: ReadonlyMap<string, Shape>, start: number, end: number): [string, Shape] | undefined => {
    if (keyText !== undefined) {
      const s = members.get(keyText);
      return s === undefined ? undefined : [keyText, s];
    }
    next: for (const [name, s] of members) {
      if (name.length !== end - start - 2) continue;
      for (let k = 0; k < name.length; k++) if (b[start + 1 + k - off] !== name.charCodeAt(k)) continue next;
      return [name, s];
    }
    return undefined;
  };
  /** Past the number, true, false or null at `i`, or FAIL. */
  const scalar = (i: number): number => {
    const c = at(i);
    const word = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : undefined;
    if (word !== undefined) {
      for (let k = 1; k < word.length; k++) if (at(i + k) !== word.charCodeAt(k)) return FAIL;
      return i + word.length;
    }
    let j = c === 0x2d ? i + 1 : i;
    if (at(j) === 0x30) j++;
    else if (isDigit(at(j))) while (isDigit(at(j))) j++;
    else return FAIL;
    if (at(j) === 0x2e) {
      if (!isDigit(at(++j))) return FAIL;
      while (isDigit(at(j))) j++;
    }
    if (at(j) === 0x65 || at(j) === 0x45) {
      if (at(++j) === 0x2b || at(j) === 0x2d) j++;
      if (!isDigit(at(j))) return FAIL;
      while (isDigit(at(j))) j++;
    }
    return j;
  };
  const object = (i: number, depth: number, members: ReadonlyMap<string, Shape> | null): number => {
    if (depth >= MAX_DEPTH) return FAIL;
    const out: Record<string, unknown> | null = members ? {} : null;
    const base = top;
    i = ws(i + 1);
    if (at(i) !== CLOSE_OBJECT) {
      for (;;) {
        if (at(i) !== QUOTE) return FAIL;
        const start = i;
        i = key(i);
        if (i < 0) return FAIL;
        const h = keyHash;
        for (let k = base; k < top; k++) if (hashes[k] === h) return FAIL;
        if (top - base >= MAX_KEYS) return FAIL;
        if (top === hashes.length) {
          const grown = new Int32Array(top * 2);
          grown.set(hashes);
          hashes = grown;
        }
        hashes[top++] = h;
        const member = members ? memberOf(members, start, i) : undefined;
        i = ws(i);
        if (at(i) !== COLON) return FAIL;
        i = value(ws(i + 1), depth + 1, member ? member[1] : null);
        if (i < 0) return FAIL;
        if (out && member) out[member[0]] = built;
        i = ws(i);
        if (at(i) === COMMA) i = ws(i + 1);
        else if (at(i) === CLOSE_OBJECT) break;
        else return FAIL;
      }
    }
    top = base;
    built = out;
    return i + 1;
  };
  const array = (i: number, depth: number, each: Shape | null): number => {
    if (depth >= MAX_DEPTH) return FAIL;
    const out: unknown[] | null = each ? [] : null;
    i = ws(i + 1);
    if (at(i) !== CLOSE_ARRAY) {
      for (;;) {
        i = value(i, depth + 1, each);
        if (i < 0) return FAIL;
        if (out) out.push(built);
        i = ws(i);
        if (at(i) === COMMA) i = ws(i + 1);
        else if (at(i) === CLOSE_ARRAY) break;
        else return FAIL;
      }
    }
    built = out;
    return i + 1;
  };
  /** Past the value at `i`, or FAIL; with a shape, `built` is what is kept of it. */
  const value = (i: number, depth: number, shape: Shape | null): number => {
    const c = at(i);
    if (shape !== null && shape !== true) {
      if (c === OPEN_OBJECT && 'members' in shape) return object(i, depth, shape.members);
      if (c === OPEN_ARRAY && 'each' in shape) return array(i, depth, shape.each);
    }
    if (shape === null) return c === QUOTE ? string(i) : c === OPEN_OBJECT ? object(i, depth, null) : c === OPEN_ARRAY ? array(i, depth, null) : scalar(i);
    // Kept whole: decoded by the platform's parser, as the full reader would.
    const saved = pin;
    if (pin < 0 || i < pin) pin = i;
    const end = c === QUOTE ? string(i) : c === OPEN_OBJECT ? object(i, depth, null) : c === OPEN_ARRAY ? array(i, depth, null) : scalar(i);
    if (end >= 0) built = JSON.parse(b.toString('utf8', i - off, end - off));
    pin = saved;
    return end;
  };

  const bom = at(0) === 0xef && at(1) === 0xbb && at(2) === 0xbf ? 3 : 0;
  const end = value(ws(bom), 0, shape);
  return end >= 0 && at(ws(end)) === undefined ? { value: built, problems: [] } : null;
}
