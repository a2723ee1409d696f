/**
 * A JSON document read at the speed of the platform's parser, with JSON's mistakes reported
 * where they are.
 *
 * JSON.parse builds the value. It accepts two things routegen refuses: duplicate keys (it keeps
 * the last one, silently: a hand-edited `podCIDRs` written twice would win or lose unseen) and
 * nesting deeper than MAX_DEPTH. Both are caught by comparing the text with the value: the number
 * of strings in the text (a fast search for quotes) must equal the number of keys and string
 * values in the value — a duplicate key drops at least its own key — and the value's depth must
 * be within bounds. Only when JSON.parse rejects the text, or the two differ, is the text read
 * again, slowly, to say where: by the strict scanner of jsonSyntax.ts, then by a search for
 * duplicate keys.
 */
import { checkJsonSyntax, MAX_DEPTH, type SyntaxProblem } from './jsonSyntax.js';
import type { SourceText } from './sourceText.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Strings in a valid JSON text: its quotes that are not escaped, halved. */
function countStrings(text: string): number {
  let quotes = 0;
  for (let i = text.indexOf('"'); i >= 0; i = text.indexOf('"', i + 1)) {
    if (text.charCodeAt(i - 1) === BACKSLASH) {
      let k = i - 1;
      while (text.charCodeAt(k) === BACKSLASH) k--;
      if ((i - 1 - k) % 2 === 1) continue; // an escaped quote, inside a string
    }
    quotes++;
  }
  return quotes / 2;
}

/**
 * Keys and string values in a parsed value, or -1 when it nests deeper than MAX_DEPTH. Recursive
 * with for...in: no allocation (this walk visits every value of a large document).
 */
function countValueStrings(v: unknown, depth = 1): number {
  if (typeof v === 'string') return 1;
  if (v === null || typeof v !== 'object') return 0;
  if (depth > MAX_DEPTH) return -1;
  let strings = 0;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'string') strings++;
      else if (x !== null && typeof x === 'object') {
        const n = countValueStrings(x, depth + 1);
        if (n < 0) return -1;
        strings += n;
      }
    }
  } else {
    const o = v as Record<string, unknown>;
    for (const k in o) {
      strings++;
      const x = o[k];
      if (typeof x === 'string') strings++;
      else if (x !== null && typeof x === 'object') {
        const n = countValueStrings(x, depth + 1);
        if (n < 0) return -1;
        strings += n;
      }
    }
  }
  return strings;
}

/** Every key that repeats an earlier key of its object (compared as JSON.parse reads them). */
function findDuplicateKeys(text: string): SyntaxProblem[] {
  const found: SyntaxProblem[] = [];
  /** Keys of the open objects; null for an open array. */
  const open: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let j = text.indexOf('"', i + 1);
      for (;;) {
        let k = j - 1;
        while (text.charCodeAt(k) === BACKSLASH) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      const keys = open[open.length - 1];
      if (expectKey && keys) {
        const raw = text.slice(i, j + 1);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (keys.has(key)) found.push({ start: i, end: j + 1, message: `duplicate key ${raw} in an object`, hint: 'a JSON object names each key once' });
        else keys.add(key);
      }
      expectKey = false;
      i = j;
    } else if (c === 0x7b) {
      open.push(new Set());
      expectKey = true;
    } else if (c === 0x5b) {
      open.push(null);
    } else if (c === 0x7d || c === 0x5d) {
      open.pop();
    } else if (c === 0x2c) {
      expectKey = open[open.length - 1] !== null;
    }
  }
  return found;
}

/** JSON.parse's own complaint, at the offset it names, for a mistake the scanner missed. */
function engineProblem(e: unknown, length: number): SyntaxProblem {
  const message = e instanceof Error ? e.message : String(e);
  const at = /position (\d+)/.exec(message);
  const start = at ? Math.min(Number(at[1]), length) : 0;
  return { start, end: start + 1, message: `not valid JSON: ${message}` };
}

/** The value of a JSON text, or the mistakes that make it unusable (with their positions). */
export function parseJsonDocument(src: SourceText): { value: unknown; problems: [] } | { value?: undefined; problems: SyntaxProblem[] } {
  const text = src.text;
  let value: unknown;
  let error: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    error = e ?? new Error('JSON.parse failed');
  }
  if (error === undefined && countValueStrings(value) === countStrings(text)) return { value, problems: [] };
  const syntax = checkJsonSyntax(src);
  if (syntax) return { problems: [syntax] };
  if (error !== undefined) return { problems: [engineProblem(error, text.length)] };
  const duplicates = findDuplicateKeys(text);
  return duplicates.length ? { problems: duplicates } : { value, problems: [] };
}
