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
 * Duplicate keys: each object's keys are hashed (FNV-1a over the decoded key's UTF-16 code units:
 * the bytes of an ASCII key, else the key decoded as the full reader decodes it) and compared
 * with the object's earlier keys; equal hashes (a duplicate, or rarely a collision) give up.
 */
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
 * reader must decide. A leading byte order mark is skipped.
 */
export function readShaped(input: string | Buffer, shape: Shape = SHAPE): { value: unknown; problems: [] } | null {
  if (typeof input === 'string' && LONE_SURROGATE.test(input)) return null;
  const b = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const n = b.length;
  let hashes = new Int32Array(1024);
  let top = 0;
  /** The value kept by the last shaped read. */
  let built: unknown;
  /** Set by key(): its hash, and its text when it has escapes. */
  let keyHash = 0;
  let keyText: string | undefined;

  const ws = (i: number): number => {
    while (i < n) {
      const c = b[i]!;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    return i;
  };
  const escape = (j: number): number => {
    const e = b[j + 1];
    if (e === 0x75) return isHex(b[j + 2]) && isHex(b[j + 3]) && isHex(b[j + 4]) && isHex(b[j + 5]) ? j + 6 : FAIL;
    return isEscape(e) ? j + 2 : FAIL;
  };
  /** Past the string at `i` (its opening quote), or FAIL. */
  const string = (i: number): number => {
    const bytes = b;
    for (let j = i + 1; j < n; ) {
      const c = bytes[j]!;
      if (c > QUOTE && c !== BACKSLASH) j++; // most bytes: one test
      else if (c === QUOTE) return j + 1;
      else if (c === BACKSLASH) {
        j = escape(j);
        if (j < 0) return FAIL;
      } else if (c >= 0x20) j++;
      else return FAIL; // a control character
    }
    return FAIL; // the file ends inside the string
  };
  /** string() for a key, setting keyHash and keyText. */
  const key = (i: number): number => {
    let h = 0x811c9dc5 | 0;
    /** An escape or a non-ASCII byte: the key's characters are not its bytes. */
    let decode = false;
    for (let j = i + 1; j < n; ) {
      const c = b[j]!;
      if (c === QUOTE) {
        keyText = decode ? (JSON.parse(b.toString('utf8', i, j + 1)) as string) : undefined;
        keyHash = keyText === undefined ? h : hashString(keyText);
        return j + 1;
      }
      if (c === BACKSLASH) {
        decode = true;
        j = escape(j);
        if (j < 0) return FAIL;
      } else if (c >= 0x20) {
        if (c >= 0x80) decode = true;
        h = Math.imul(h ^ c, 0x01000193);
        j++;
      } else return FAIL;
    }
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
      for (let k = 0; k < name.length; k++) if (b[start + 1 + k] !== name.charCodeAt(k)) continue next;
      return [name, s];
    }
    return undefined;
  };
  /** Past the number, true, false or null at `i`, or FAIL. */
  const scalar = (i: number): number => {
    const c = b[i];
    const word = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : undefined;
    if (word !== undefined) {
      for (let k = 1; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return FAIL;
      return i + word.length;
    }
    let j = c === 0x2d ? i + 1 : i;
    if (b[j] === 0x30) j++;
    else if (isDigit(b[j])) while (isDigit(b[j])) j++;
    else return FAIL;
    if (b[j] === 0x2e) {
      if (!isDigit(b[++j])) return FAIL;
      while (isDigit(b[j])) j++;
    }
    if (b[j] === 0x65 || b[j] === 0x45) {
      if (b[++j] === 0x2b || b[j] === 0x2d) j++;
      if (!isDigit(b[j])) return FAIL;
      while (isDigit(b[j])) j++;
    }
    return j;
  };
  const object = (i: number, depth: number, members: ReadonlyMap<string, Shape> | null): number => {
    if (depth >= MAX_DEPTH) return FAIL;
    const out: Record<string, unknown> | null = members ? {} : null;
    const base = top;
    i = ws(i + 1);
    if (b[i] !== CLOSE_OBJECT) {
      for (;;) {
        if (b[i] !== QUOTE) return FAIL;
        const start = i;
        i = key(i);
        if (i < 0) return FAIL;
        const h = keyHash;
        for (let k = base; k < top; k++) if (hashes[k] === h) return FAIL;
        if (top - base >= MAX_KEYS) return FAIL;
        if (top === hashes.length) {
          const more = new Int32Array(top * 2);
          more.set(hashes);
          hashes = more;
        }
        hashes[top++] = h;
        const member = members ? memberOf(members, start, i) : undefined;
        i = ws(i);
        if (b[i] !== COLON) return FAIL;
        i = value(ws(i + 1), depth + 1, member ? member[1] : null);
        if (i < 0) return FAIL;
        if (out && member) out[member[0]] = built;
        i = ws(i);
        if (b[i] === COMMA) i = ws(i + 1);
        else if (b[i] === CLOSE_OBJECT) break;
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
    if (b[i] !== CLOSE_ARRAY) {
      for (;;) {
        i = value(i, depth + 1, each);
        if (i < 0) return FAIL;
        if (out) out.push(built);
        i = ws(i);
        if (b[i] === COMMA) i = ws(i + 1);
        else if (b[i] === CLOSE_ARRAY) break;
        else return FAIL;
      }
    }
    built = out;
    return i + 1;
  };
  /** Past the value at `i`, or FAIL; with a shape, `built` is what is kept of it. */
  const value = (i: number, depth: number, shape: Shape | null): number => {
    const c = b[i];
    if (shape !== null && shape !== true) {
      if (c === OPEN_OBJECT && 'members' in shape) return object(i, depth, shape.members);
      if (c === OPEN_ARRAY && 'each' in shape) return array(i, depth, shape.each);
    }
    const end = c === QUOTE ? string(i) : c === OPEN_OBJECT ? object(i, depth, null) : c === OPEN_ARRAY ? array(i, depth, null) : scalar(i);
    // Kept whole: decoded by the platform's parser, as the full reader would.
    if (shape !== null && end >= 0) built = JSON.parse(b.toString('utf8', i, end));
    return end;
  };

  const bom = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  const end = value(ws(bom), 0, shape);
  return end >= 0 && ws(end) === n ? { value: built, problems: [] } : null;
}
