/**
 * Where values sit in a valid JSON text, found when a message needs them rather than while
 * parsing. JSON.parse builds the values fast but says nothing of positions; the positions of the
 * few values a message or a Machine points at are found afterwards by one pass over the text
 * that descends only along the paths asked for and skips everything else (a string by searching
 * for its closing quote, a container by counting brackets). Paths are registered with `need()`
 * first (a cheap note: nothing is done until a position is asked for), so that one pass finds
 * all of them; a pass ends as soon as nothing is left to find.
 *
 * Compared with jsonc-parser (`parseTree` + `findNodeAtLocation`, or its `visit` scanner) on a
 * 105 MB `kubectl get nodes -o json`: parseTree builds a node for every value (gigabytes for a
 * large cluster) and its scanner decodes every string and number on the way; this skips them.
 * See BENCHMARKS.md ("kubectl").
 */

/** Property names and array indices from the document's root. */
export type JsonPath = ReadonlyArray<string | number>;

/** A value's characters [start, end), and its property name's [keyStart, keyEnd) (the quotes
 * included) when it is an object member; -1 for array elements and the root. */
export interface JsonRange {
  start: number;
  end: number;
  keyStart: number;
  keyEnd: number;
}

interface Trie {
  children?: Map<string | number, Trie>;
  wanted: boolean;
  range?: JsonRange;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class JsonPositions {
  private readonly root: Trie = { wanted: false };
  /** Paths needed, not yet in the trie. */
  private later: JsonPath[] = [];
  /** Paths in the trie not found yet. */
  private pending = 0;

  /** `src.text` must be valid JSON (JSON.parse accepted it); it is read when first needed. */
  constructor(private readonly src: { readonly text: string }) {}

  private node(path: JsonPath): Trie {
    let t = this.root;
    for (const k of path) {
      t.children ??= new Map();
      let c = t.children.get(k);
      if (!c) t.children.set(k, (c = { wanted: false }));
      t = c;
    }
    return t;
  }

  /** Says that the position of the value at `path` may be asked for. */
  need(path: JsonPath): void {
    this.later.push(path);
  }

  private want(path: JsonPath): Trie {
    const t = this.node(path);
    if (!t.wanted) {
      t.wanted = true;
      if (!t.range) this.pending++;
    }
    return t;
  }

  /** Where the value at `path` is: every path needed so far is found in the same pass. */
  range(path: JsonPath): JsonRange {
    const t = this.want(path);
    if (t.range) return t.range;
    for (const p of this.later) this.want(p);
    this.later = [];
    this.scan();
    if (!t.range) throw new Error(`internal error: no JSON value at ${JSON.stringify(path)}`);
    return t.range;
  }

  private scan(): void {
    const text = this.src.text;
    const n = text.length;
    const space = (i: number): number => {
      for (let c = text.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++i));
      return i;
    };
    /** Just after the string whose opening quote is at i. */
    const stringEnd = (i: number): number => {
      let j = text.indexOf('"', i + 1);
      for (;;) {
        let k = j - 1;
        while (text.charCodeAt(k) === BACKSLASH) k--;
        if ((j - 1 - k) % 2 === 0) return j + 1;
        j = text.indexOf('"', j + 1);
      }
    };
    /** Just after the value starting at i, not looking inside it. */
    const skip = (i: number): number => {
      const c = text.charCodeAt(i);
      if (c === QUOTE) return stringEnd(i);
      if (c !== 0x7b && c !== 0x5b) {
        // true, false, null or a number: up to the next delimiter
        for (let d = text.charCodeAt(i); i < n && d !== 0x2c && d !== 0x7d && d !== 0x5d && d !== 0x20 && d !== 0x0a && d !== 0x0d && d !== 0x09; d = text.charCodeAt(++i));
        return i;
      }
      let depth = 0;
      for (;;) {
        const d = text.charCodeAt(i);
        if (d === QUOTE) {
          i = stringEnd(i);
          continue;
        }
        i++;
        if (d === 0x7b || d === 0x5b) depth++;
        else if ((d === 0x7d || d === 0x5d) && --depth === 0) return i;
      }
    };
    const keyText = (start: number, end: number): string => {
      const raw = text.slice(start + 1, end - 1);
      return raw.includes('\\') ? (JSON.parse(text.slice(start, end)) as string) : raw;
    };
    const record = (t: Trie, start: number, end: number, keyStart: number, keyEnd: number) => {
      if (t.wanted && !t.range) {
        t.range = { start, end, keyStart, keyEnd };
        this.pending--;
      }
    };
    /** Visits the value at i along the trie; returns the index just after it. */
    const visit = (i: number, t: Trie, keyStart: number, keyEnd: number): number => {
      const start = i;
      const c = text.charCodeAt(i);
      const children = t.children;
      if (!children || (c !== 0x7b && c !== 0x5b)) {
        i = skip(i);
      } else if (c === 0x7b) {
        i = space(i + 1);
        if (text.charCodeAt(i) !== 0x7d) {
          for (;;) {
            const ks = i;
            const ke = stringEnd(i);
            const child = children.get(keyText(ks, ke));
            i = space(space(ke) + 1); // the colon, then the value
            i = child ? visit(i, child, ks, ke) : skip(i);
            if (this.pending === 0) return i;
            i = space(i);
            if (text.charCodeAt(i) !== 0x2c) break;
            i = space(i + 1);
          }
        }
        i++; // "}"
      } else {
        i = space(i + 1);
        if (text.charCodeAt(i) !== 0x5d) {
          for (let index = 0; ; index++) {
            const child = children.get(index);
            i = child ? visit(i, child, -1, -1) : skip(i);
            if (this.pending === 0) return i;
            i = space(i);
            if (text.charCodeAt(i) !== 0x2c) break;
            i = space(i + 1);
          }
        }
        i++; // "]"
      }
      record(t, start, i, keyStart, keyEnd);
      return i;
    };
    if (this.pending > 0) visit(space(0), this.root, -1, -1);
  }
}
