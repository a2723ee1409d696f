/**
 * JSON's own mistakes, said in JSON's terms: a strict scanner (RFC 8259) that finds the first one
 * and says what is wrong and what would be right. It runs only when the platform's parser has
 * already rejected the text (or when the text nests deeper than routegen reads): JSON.parse says
 * that there is a mistake, this says where and which, the same on every Node version.
 */
import { describeChar, short } from './describe.js';
import type { SourceText } from './sourceText.js';

export const HINT_SOURCE = 'routegen reads the output of `kubectl get nodes -o json`';
/** Deeper than any Kubernetes object; bounds the work of every walk over a document. */
export const MAX_DEPTH = 256;
const NUMBER_RE = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

const lineEndOf = (text: string, from: number) => {
  const e = text.indexOf('\n', from);
  return e < 0 ? text.length : e;
};

/** A mistake at characters [start, end) of the text. */
export interface SyntaxProblem {
  start: number;
  end: number;
  message: string;
  hint?: string;
}

/**
 * Checks that the text is exactly one JSON value (RFC 8259), without building it. The yaml
 * parser would accept much that is not JSON (comments, single quotes, trailing commas, plain
 * words) and describes JSON's mistakes in YAML's terms; this says what is wrong in JSON's.
 */
export function checkJsonSyntax(src: SourceText): SyntaxProblem | null {
  const text = src.text;
  const n = text.length;
  const stack: Array<{ close: '}' | ']'; at: number }> = [];
  type State = 'value' | 'first-value' | 'key' | 'first-key' | 'colon' | 'after';
  let state: State = 'value';
  let comma = -1;
  let i = 0;

  const lineEnd = (from: number) => lineEndOf(text, from);
  const wordAt = (at: number): string => {
    const re = /[^\s,:[\]{}"]+/y;
    re.lastIndex = at;
    return re.exec(text)?.[0] ?? '';
  };
  /** The token at `at`, for "found ..." in messages. */
  const tokenAt = (at: number): string => {
    const c = text[at] ?? '';
    if (c === '"') {
      const close = text.indexOf('"', at + 1);
      return close > 0 && close < lineEnd(at) ? short(text.slice(at, close + 1)) : '"';
    }
    const w = wordAt(at);
    return w ? `"${short(w)}"` : describeChar(c);
  };
  const kindOf = (close: '}' | ']') => (close === '}' ? 'object' : 'array');
  const fail = (start: number, end: number, message: string, hint?: string): SyntaxProblem => ({ start, end, message, hint });
  const notJsonToken = (at: number, expected: string): SyntaxProblem => {
    const c = text[at]!;
    if (c === "'") {
      const close = text.indexOf("'", at + 1);
      const end = close > 0 && close < lineEnd(at) ? close + 1 : at + 1;
      return fail(at, end, `${expected}, found a single-quoted string`, 'JSON strings are written in double quotes');
    }
    if (c === '#' || (c === '/' && (text[at + 1] === '/' || text[at + 1] === '*'))) {
      return fail(at, lineEnd(at), `${expected}, found a comment`, 'JSON has no comments: remove it');
    }
    if (c === '"') {
      const token = tokenAt(at);
      return fail(at, at + token.length, `${expected}, found ${token}`);
    }
    const w = wordAt(at);
    if (w) return fail(at, at + w.length, `${expected}, found "${short(w)}"`, /^[A-Za-z0-9]/.test(w) ? `JSON strings are written in double quotes: "${short(w)}"` : undefined);
    return fail(at, at + 1, `${expected}, found ${describeChar(c)}`);
  };

  /** Moves `i` past the string starting at `i`, or says why it is not one. */
  const scanString = (): SyntaxProblem | null => {
    const open = i;
    for (let j = i + 1; ; ) {
      if (j >= n) return fail(open, lineEnd(open), 'string is not closed: the file ends inside it');
      const c = text.charCodeAt(j);
      if (c === 0x22) {
        i = j + 1;
        return null;
      }
      if (c === 0x5c) {
        const e = text[j + 1] ?? '';
        if (e === 'u') {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(j + 2, j + 6))) return fail(j, j + 2, 'invalid escape "\\u" in a string: it takes 4 hexadecimal digits');
          j += 6;
        } else if ('"\\/bfnrt'.includes(e) && e !== '') j += 2;
        else return fail(j, j + 2, `invalid escape "\\${e}" in a string`, 'JSON escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX');
        continue;
      }
      if (c === 0x0a || c === 0x0d) return fail(open, j, 'string is not closed on its line', 'add the closing double quote; a JSON string cannot span lines');
      if (c < 0x20) return fail(j, j + 1, `${describeChar(text[j]!)} in a string`, 'write it as an escape such as \\t or \\u0009');
      j++;
    }
  };

  for (;;) {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
    if (i >= n) {
      if (stack.length === 0 && state === 'after') return null;
      const end = text.trimEnd().length;
      const open = stack[stack.length - 1];
      if (!open) return fail(end, end + 1, 'the file holds no JSON value', HINT_SOURCE);
      return fail(end, end + 1, `the file ends before the ${kindOf(open.close)} opened on line ${src.pos(open.at).line} is closed`, 'is the file cut short? write it again with `kubectl get nodes -o json > FILE`');
    }
    const c = text[i]!;
    const top = stack[stack.length - 1];
    // A comma only counts as trailing when it is the token right before this one.
    const afterComma = comma;
    comma = -1;

    if (state === 'after') {
      if (!top) return fail(i, lineEnd(i), 'unexpected text after the end of the JSON document', 'the file holds one JSON document, as `kubectl get nodes -o json` writes it');
      if (c === ',') {
        comma = i++;
        state = top.close === '}' ? 'key' : 'value';
        continue;
      }
      if (c === top.close) {
        stack.pop();
        i++;
        continue;
      }
      const where = top.close === '}' ? 'after a property value' : 'after an array element';
      if (c === '#' || c === '/') return notJsonToken(i, `expected "," or "${top.close}" ${where}`);
      const token = tokenAt(i);
      const startsValue = c === '"' || c === '{' || c === '[' || wordAt(i) !== '';
      const before = src.pos(text.slice(0, i).trimEnd().length - 1).line;
      const hint = !startsValue ? undefined : before < src.pos(i).line ? `is a comma missing at the end of line ${before}?` : 'is a comma missing before it?';
      return fail(i, i + (c === '"' ? token.length : 1), `expected "," or "${top.close}" ${where}, found ${token}`, hint);
    }

    if (state === 'colon') {
      if (c !== ':') return notJsonToken(i, 'expected ":" after the property name');
      i++;
      state = 'value';
      continue;
    }

    if (state === 'key' || state === 'first-key') {
      if (c === '"') {
        const p = scanString();
        if (p) return p;
        state = 'colon';
        continue;
      }
      if (c === '}' && state === 'first-key') {
        stack.pop();
        i++;
        state = 'after';
        continue;
      }
      if (c === '}' && afterComma >= 0) return fail(afterComma, afterComma + 1, 'trailing comma before "}"', 'JSON allows no comma after the last property');
      return notJsonToken(i, 'expected a property name in double quotes');
    }

    // state 'value' or 'first-value'
    if (c === '{' || c === '[') {
      if (stack.length >= MAX_DEPTH) return fail(i, i + 1, `JSON nested more than ${MAX_DEPTH} levels deep`, HINT_SOURCE);
      stack.push({ close: c === '{' ? '}' : ']', at: i++ });
      state = c === '{' ? 'first-key' : 'first-value';
      continue;
    }
    if (c === '"') {
      const p = scanString();
      if (p) return p;
      state = 'after';
      continue;
    }
    if (c === ']' && state === 'first-value') {
      stack.pop();
      i++;
      state = 'after';
      continue;
    }
    if ((c === ']' || c === '}') && afterComma >= 0) return fail(afterComma, afterComma + 1, `trailing comma before "${c}"`, 'JSON allows no comma after the last element');
    const w = wordAt(i);
    if (w === 'true' || w === 'false' || w === 'null' || NUMBER_RE.test(w)) {
      i += w.length;
      state = 'after';
      continue;
    }
    if (w && /^-?[0-9]/.test(w) && /^[0-9eE.+-]+$/.test(w)) return fail(i, i + w.length, `"${short(w)}" is not a JSON number`);
    return notJsonToken(i, 'expected a value');
  }
}
