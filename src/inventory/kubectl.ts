/**
 * The inventory as the cluster itself knows it: the output of `kubectl get nodes -o json`.
 *
 * Accepted: a v1 List of Nodes (`kubectl get nodes -o json`), a NodeList (`kubectl get --raw
 * /api/v1/nodes`, items without "kind") or a single Node (`kubectl get node NAME -o json`).
 * Every node becomes a Machine:
 *   - hostname = metadata.name, or its first label when the name is a dotted FQDN; checked with
 *     machines.txt's HOSTNAME_RE (every label of a dotted name too);
 *   - fqdn = a dotted node name itself; else the first Hostname address, else the first
 *     InternalDNS address, that is a dotted DNS name; else the node name;
 *   - addresses = the first InternalIP of each family, in the order given (the first is the
 *     primary); later ones of the same family and ExternalIPs are ignored. None is an error;
 *   - podSubnets = spec.podCIDRs, else spec.podCIDR (which must then equal podCIDRs[0]); a node
 *     without either (a control-plane node, say) gets routes but no subnet.
 * Problems carry file:line:column and the source line, exactly like machines.txt's, pointing at
 * the offending JSON value; all of them are collected before throwing.
 *
 * Positions. The document is checked by a strict JSON scanner first (clear messages for JSON's
 * own mistakes: missing commas, trailing commas, unquoted strings, a file cut short), then read
 * with the `yaml` package (JSON is YAML 1.2), whose nodes carry character ranges. Lines and
 * columns are computed here from a table of line starts.
 *
 * Machine.line / source / spans. validateInventory() reports every cross-machine problem
 * (duplicate addresses, overlapping subnets, missing family...) on `m.line` with a column from
 * `m.spans` or an IpValue's `span`: one line per machine. In kubectl's output a node's name, its
 * addresses and its podCIDRs are on different lines, so:
 *   - Machine.line is the line of the node's `metadata.name` value and Machine.source that line:
 *     the line that names the node, inside the node's object;
 *   - a span (spans.ip/fqdn/hostname/subnet and every IpValue.span) points at its own JSON value
 *     when that value is on the same line (single-line JSON, e.g. `jq -c`), and otherwise at the
 *     `metadata.name` value. The messages of validateInventory name the value itself
 *     ("pod subnet 10.200.1.0/24 overlaps ..."), so the caret only has to show which node.
 * Problems found while parsing (a bad InternalIP, a podCIDR with host bits...) do not go through
 * Machine: they carry their own line and source and point at the exact value.
 */
import { basename } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import { ProblemList } from '../errors.js';
import { isIpProblem, parseHostAddress, parseNetwork } from '../ip.js';
import type { Inventory, IpValue, Machine, Span } from '../types.js';
import { HOSTNAME_RE, parseInventory } from './machines.js';

export type InventoryFormat = 'machines' | 'kubectl';

const HINT_SOURCE = 'routegen reads the output of `kubectl get nodes -o json`';
/** Deeper than any Kubernetes object; bounds the work and the yaml parser's recursion. */
const MAX_DEPTH = 256;
const FQDN_LABEL_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const NUMBER_RE = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

/** Line and column of character offsets; lines without their line break. */
class SourceText {
  readonly lines: string[];
  private readonly starts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
    this.lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  }

  /** 1-based line and column of an offset. */
  pos(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }

  source(line: number): string {
    return this.lines[line - 1] ?? '';
  }
}

function describeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (code < 0x20 || code === 0x7f) return `control character ${hex}`;
  if (code > 0x7e) return `non-ASCII character ${hex}${/[\p{L}\p{N}\p{S}\p{P}]/u.test(c) ? ` "${c}"` : ''}`;
  return `"${c}"`;
}

const lineEndOf = (text: string, from: number) => {
  const e = text.indexOf('\n', from);
  return e < 0 ? text.length : e;
};
const short = (s: string) => (s.length > 40 ? `${s.slice(0, 37)}...` : s);

// ---------------------------------------------------------------------------------------------
// JSON syntax

interface SyntaxProblem {
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
function checkJsonSyntax(src: SourceText): SyntaxProblem | null {
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

// ---------------------------------------------------------------------------------------------
// The document

type Json = YamlNode | null | undefined;

function describe(n: Json): string {
  if (isMap(n)) return 'an object';
  if (isSeq(n)) return 'an array';
  if (isScalar(n)) {
    const v = n.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return `the string ${JSON.stringify(short(v))}`;
    if (typeof v === 'number') return `the number ${String(n.source ?? v)}`;
    if (typeof v === 'boolean') return String(v);
  }
  return 'nothing';
}

const isNull = (n: Json) => n === null || n === undefined || (isScalar(n) && n.value === null);
const stringOf = (n: Json): string | undefined => (isScalar(n) && typeof n.value === 'string' ? n.value : undefined);

function field(map: YAMLMap, key: string): Pair<YamlNode, YamlNode | null> | undefined {
  for (const p of map.items as Pair<YamlNode, YamlNode | null>[]) if (isScalar(p.key) && p.key.value === key) return p;
  return undefined;
}

/** Why a node name is not usable, in the terms of machines.txt's hostname check. */
function checkNodeName(name: string): { message: string; hint?: string } | null {
  const shown = short(name);
  if (name === '') return { message: 'node name is empty' };
  if (name.length > 253) return { message: `node name "${shown}" is longer than 253 characters` };
  const bad = [...name].find((c) => !/[A-Za-z0-9.-]/.test(c));
  if (bad !== undefined) return { message: `node name "${shown}" contains ${describeChar(bad)}`, hint: 'a node name is lower-case letters, digits, "-" and "."' };
  const labels = name.split('.');
  if (/[A-Z]/.test(name) && labels.every((l) => HOSTNAME_RE.test(l.toLowerCase()))) {
    return { message: `node name "${shown}" has upper-case letters`, hint: `Kubernetes node names are lower case: write ${name.toLowerCase()}` };
  }
  if (labels.length === 1 && !HOSTNAME_RE.test(name)) {
    return { message: `node name "${shown}" is not a valid RFC 1123 label`, hint: '1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen' };
  }
  if (!labels.every((l) => HOSTNAME_RE.test(l))) {
    return { message: `node name "${shown}" is not a valid DNS name`, hint: 'labels of 1 to 63 lower-case letters, digits and inner hyphens, separated by dots' };
  }
  return null;
}

const isDottedDnsName = (s: string) => s.length <= 253 && s.includes('.') && s.split('.').every((l) => FQDN_LABEL_RE.test(l));

/**
 * Reads `kubectl get nodes -o json` (a v1 List of Nodes, `kubectl get --raw /api/v1/nodes`'s
 * NodeList, or a single Node). Every problem is collected; throws a UserError holding all of
 * them, with the position of the offending JSON value.
 */
export function parseKubectlNodes(text: string, file: string): Inventory {
  // A byte order mark is not part of the document (columns are counted without it, as the
  // user's editor shows the line).
  const src = new SourceText(text.startsWith('\ufeff') ? text.slice(1) : text);
  const problems = new ProblemList();
  const report = (start: number, end: number, message: string, hint?: string) => {
    const p = src.pos(start);
    problems.add({ file, line: p.line, column: p.column, length: Math.max(1, end - start), source: src.source(p.line), message, hint });
  };
  const at = (n: YamlNode, message: string, hint?: string) => {
    const r = n.range ?? [0, 1];
    report(r[0], r[1], message, hint);
  };

  const syntax = checkJsonSyntax(src);
  if (syntax) {
    report(syntax.start, syntax.end, syntax.message, syntax.hint);
    problems.throwIfAny(`${file} is not valid JSON`);
  }
  // A lone CR is whitespace to JSON but a line break to YAML (which then wants keys on one
  // line and flow content indented). Outside strings (where JSON forbids raw CRs) it becomes a
  // space: same length, so every offset stays.
  const doc = parseDocument(src.text.replace(/\r(?!\n)/g, ' '), { prettyErrors: false, uniqueKeys: true });
  for (const e of doc.errors) {
    if (e.code === 'DUPLICATE_KEY') {
      // yaml gives the key's first character; the key is a JSON string there (checked above).
      const end = /^"(?:[^"\\]|\\.)*"/.exec(src.text.slice(e.pos[0], lineEndOf(src.text, e.pos[0])))?.[0].length ?? 1;
      report(e.pos[0], e.pos[0] + end, `duplicate key ${src.text.slice(e.pos[0], e.pos[0] + end)} in an object`, 'a JSON object names each key once');
    } else {
      report(e.pos[0], e.pos[1], `cannot read this JSON: ${e.message.split('\n')[0] ?? e.message}`, 'routegen reads JSON as kubectl writes it; reformat the file with `jq . FILE`');
    }
  }
  problems.throwIfAny(`${file} is not valid JSON`);

  const root = doc.contents as Json;
  const nodes: Array<{ node: Json; where: string }> = [];
  if (!isMap(root)) {
    if (root) at(root, `expected a List of Nodes or a Node; found ${describe(root)}`, HINT_SOURCE);
  } else {
    const kindPair = field(root, 'kind');
    const kind = stringOf(kindPair?.value);
    const items = field(root, 'items');
    if (kindPair && kind === undefined) {
      at(kindPair.value ?? kindPair.key, `"kind" must be a string; found ${describe(kindPair.value)}`, HINT_SOURCE);
    } else if (kind === 'Node' || (kind === undefined && !items && field(root, 'metadata'))) {
      nodes.push({ node: root, where: 'the node' });
    } else if (kind === 'List' || kind === 'NodeList' || (kind === undefined && items)) {
      if (!items) at(kindPair?.value ?? root, `the ${kind ?? 'List'} has no "items"`, HINT_SOURCE);
      else if (!isSeq(items.value)) at(items.value ?? items.key, `"items" must be an array of Nodes; found ${describe(items.value)}`, HINT_SOURCE);
      else if (items.value.items.length === 0) at(items.value, 'no nodes: "items" is empty', 'the cluster has no nodes registered yet? `kubectl get nodes` should list them');
      else (items.value.items as Json[]).forEach((node, i) => nodes.push({ node, where: `items[${i}]` }));
    } else if (kindPair) {
      at(kindPair.value!, `this is a ${short(kind ?? '')}, not a Node or a List of Nodes`, HINT_SOURCE);
    } else {
      report(root.range![0], root.range![0] + 1, 'this object has no "kind": expected a List of Nodes or a Node', HINT_SOURCE);
    }
  }

  const machines: Machine[] = [];
  const byName = new Map<string, { line: number }>();
  const byHostname = new Map<string, { name: string; line: number }>();

  for (const { node, where } of nodes) {
    if (!isMap(node)) {
      if (node) at(node, `${where} must be a Node object; found ${describe(node)}`, HINT_SOURCE);
      continue;
    }
    const start = node.range![0];
    const kindPair = field(node, 'kind');
    if (kindPair && stringOf(kindPair.value) !== 'Node') {
      const k = stringOf(kindPair.value);
      at(kindPair.value ?? kindPair.key, k === undefined ? `"kind" of ${where} must be a string; found ${describe(kindPair.value)}` : `${where} is a ${short(k)}, not a Node`, 'list nodes only: `kubectl get nodes -o json`');
      continue;
    }

    // metadata.name
    const metaPair = field(node, 'metadata');
    if (metaPair && !isMap(metaPair.value)) {
      at(metaPair.value ?? metaPair.key, `metadata of ${where} must be an object; found ${describe(metaPair.value)}`);
      continue;
    }
    const namePair = metaPair && isMap(metaPair.value) ? field(metaPair.value, 'name') : undefined;
    if (!namePair) {
      if (metaPair) at(metaPair.key, `${where} has no metadata.name`, 'every Node has a name');
      else report(start, start + 1, `${where} has no metadata.name`, 'every Node has a name');
      continue;
    }
    const nameNode = namePair.value ?? namePair.key;
    const name = stringOf(namePair.value);
    if (name === undefined) {
      at(nameNode, `metadata.name of ${where} must be a string; found ${describe(namePair.value)}`);
      continue;
    }
    const who = `node "${short(name)}"`;
    let ok = true;

    const nameRange = nameNode.range!;
    const namePos = src.pos(nameRange[0]);
    const nameSpan: Span = { column: namePos.column, length: Math.max(1, nameRange[1] - nameRange[0]) };
    /** Where a value goes in Machine: its own column if it is on the name's line, else the name. */
    const spanOf = (n: YamlNode): Span => {
      const r = n.range!;
      const a = src.pos(r[0]);
      const b = src.pos(Math.max(r[0], r[1] - 1));
      return a.line === namePos.line && b.line === namePos.line ? { column: a.column, length: Math.max(1, r[1] - r[0]) } : nameSpan;
    };

    const nameProblem = checkNodeName(name);
    const hostname = name.split('.')[0]!;
    if (nameProblem) {
      at(nameNode, nameProblem.message, nameProblem.hint);
      ok = false;
    } else {
      const same = byName.get(name);
      const clash = byHostname.get(hostname);
      if (same) {
        at(nameNode, `node name "${short(name)}" appears twice (first on line ${same.line})`, 'a cluster names each node once: were two outputs joined?');
        ok = false;
      } else if (clash) {
        at(nameNode, `${who} has the same hostname "${hostname}" as node "${short(clash.name)}" (line ${clash.line})`, 'routegen names each host by the first label of its node name; these must differ');
        ok = false;
      } else {
        byName.set(name, { line: namePos.line });
        byHostname.set(hostname, { name, line: namePos.line });
      }
    }

    // status.addresses
    const addresses: IpValue[] = [];
    let ipNode: YamlNode | undefined;
    const dnsNames: Array<{ type: string; text: string; node: YamlNode }> = [];
    let sawInternalIp = false;
    const addressTypes: string[] = [];
    /** A type error in status: "no InternalIP" would only repeat it. */
    let statusBroken = false;
    const statusPair = field(node, 'status');
    let addressesNode: YamlNode | undefined;
    if (statusPair && !isNull(statusPair.value) && !isMap(statusPair.value)) {
      at(statusPair.value!, `status of ${who} must be an object; found ${describe(statusPair.value)}`);
      ok = false;
      statusBroken = true;
    } else if (statusPair && isMap(statusPair.value)) {
      const addrPair = field(statusPair.value, 'addresses');
      if (addrPair && !isNull(addrPair.value) && !isSeq(addrPair.value)) {
        at(addrPair.value!, `status.addresses of ${who} must be an array; found ${describe(addrPair.value)}`);
        ok = false;
        statusBroken = true;
      } else if (addrPair && isSeq(addrPair.value)) {
        addressesNode = addrPair.value;
        for (const entry of addrPair.value.items as Json[]) {
          if (!isMap(entry)) {
            if (entry) at(entry, `an entry of status.addresses of ${who} must be an object with "type" and "address"; found ${describe(entry)}`);
            ok = false;
            statusBroken = true;
            continue;
          }
          const typePair = field(entry, 'type');
          const addrValuePair = field(entry, 'address');
          const type = stringOf(typePair?.value);
          const value = stringOf(addrValuePair?.value);
          if (type !== undefined) addressTypes.push(type);
          if (type === 'InternalIP') sawInternalIp = true;
          if (type === undefined || value === undefined) {
            const bad = type === undefined ? typePair : addrValuePair;
            const what = type === undefined ? 'type' : 'address';
            if (bad) at(bad.value ?? bad.key, `"${what}" of an address of ${who} must be a string; found ${describe(bad.value)}`);
            else report(entry.range![0], entry.range![0] + 1, `an address of ${who} has no "${what}"`, 'each entry of status.addresses is {"type": ..., "address": ...}');
            ok = false;
            statusBroken = true;
            continue;
          }
          const valueNode = addrValuePair!.value!;
          if (type === 'Hostname' || type === 'InternalDNS') dnsNames.push({ type, text: value, node: valueNode });
          if (type !== 'InternalIP') continue;
          if (value.includes('/')) {
            at(valueNode, `InternalIP "${short(value)}" of ${who} has a prefix length`, `a node address is a plain address: ${value.split('/')[0]}`);
            ok = false;
            continue;
          }
          const a = parseHostAddress(value, spanOf(valueNode));
          if (isIpProblem(a)) {
            at(valueNode, `InternalIP ${a.message}`, a.hint);
            ok = false;
          } else if (!addresses.some((x) => x.family === a.family)) {
            // The node's IPs are its first InternalIP of each family, as Kubernetes picks them
            // (GetNodeHostIPs); more than one per family happens with several NICs.
            addresses.push(a);
            ipNode ??= valueNode;
          }
        }
      }
    }
    if (!sawInternalIp && !statusBroken) {
      if (addressesNode) {
        const types = [...new Set(addressTypes)];
        const has = types.length ? `status.addresses lists only ${types.map((t) => short(t)).join(', ')}` : 'status.addresses is empty';
        at(addressesNode, `${who} has no InternalIP address: ${has}`, "routes to a node's pod subnet go via its InternalIP, which the kubelet reports (see its --node-ip)");
      } else at(nameNode, `${who} has no InternalIP address: its status.addresses is missing`, "routes to a node's pod subnet go via its InternalIP; has the node's kubelet registered yet?");
      ok = false;
    }

    // FQDN: a dotted node name is one; else the node's first Hostname address, else its first
    // InternalDNS address, that is a dotted DNS name; else the node name.
    const dotted = (t: string) => dnsNames.find((d) => d.type === t && isDottedDnsName(d.text));
    const fqdn = (!name.includes('.') && (dotted('Hostname') ?? dotted('InternalDNS'))) || { text: name, node: nameNode };

    // spec.podCIDRs, else spec.podCIDR
    const podSubnets: IpValue[] = [];
    let subnetNode: YamlNode | undefined;
    const specPair = field(node, 'spec');
    if (specPair && !isNull(specPair.value) && !isMap(specPair.value)) {
      at(specPair.value!, `spec of ${who} must be an object; found ${describe(specPair.value)}`);
      ok = false;
    } else if (specPair && isMap(specPair.value)) {
      const listPair = field(specPair.value, 'podCIDRs');
      const onePair = field(specPair.value, 'podCIDR');
      let one = isNull(onePair?.value) ? undefined : onePair!.value!;
      if (one && stringOf(one) === undefined) {
        at(one, `spec.podCIDR of ${who} must be a CIDR string; found ${describe(one)}`);
        ok = false;
        one = undefined;
      }
      const entries: YamlNode[] = [];
      if (listPair && !isNull(listPair.value)) {
        const list = listPair.value!;
        if (!isSeq(list)) {
          const s = stringOf(list);
          at(list, `spec.podCIDRs of ${who} must be an array of CIDR strings; found ${describe(list)}`, s !== undefined ? `write [${JSON.stringify(s)}]` : 'e.g. ["10.200.0.0/24"], or one CIDR per address family');
          ok = false;
        } else {
          subnetNode = list;
          for (const item of list.items as Json[]) {
            if (stringOf(item) === undefined) {
              if (item) at(item, `an entry of spec.podCIDRs of ${who} must be a CIDR string; found ${describe(item)}`);
              ok = false;
            } else entries.push(item!);
          }
        }
      } else if (one && stringOf(one) !== '') {
        subnetNode = one;
        entries.push(one);
      }
      for (const item of entries) {
        const n = parseNetwork(stringOf(item)!, spanOf(item));
        if (isIpProblem(n)) {
          at(item, n.message, n.hint);
          ok = false;
        } else if (podSubnets.some((x) => x.family === n.family)) {
          at(item, `more than one IPv${n.family} pod subnet for ${who}`, 'give at most one pod subnet per address family');
          ok = false;
        } else podSubnets.push(n);
      }
      // The API server keeps podCIDR equal to podCIDRs[0]; a difference means a hand edit.
      const first = entries[0];
      if (one && first && first !== one && stringOf(one) && podSubnets[0]) {
        const single = parseNetwork(stringOf(one)!, spanOf(one));
        if (!isIpProblem(single) && single.text !== podSubnets[0].text) {
          at(one, `spec.podCIDR ${single.text} of ${who} differs from spec.podCIDRs[0] ${podSubnets[0].text}`, 'Kubernetes keeps podCIDR equal to the first of podCIDRs; was one of them edited?');
          ok = false;
        }
      }
    }

    if (!ok || !ipNode) continue;
    machines.push({
      addresses,
      fqdn: fqdn.text,
      hostname,
      podSubnets,
      line: namePos.line,
      source: src.source(namePos.line),
      spans: { ip: spanOf(ipNode), fqdn: spanOf(fqdn.node), hostname: nameSpan, subnet: subnetNode && podSubnets.length ? spanOf(subnetNode) : undefined },
    });
  }

  problems.throwIfAny(`${file} is not a valid inventory`);
  return { file, name: basename(file), machines };
}

/** `kubectl` when the text is a JSON object (kubectl's output), else `machines`. */
export function detectInventoryFormat(text: string): InventoryFormat {
  return /^\ufeff?\s*\{/.test(text) ? 'kubectl' : 'machines';
}

/** Reads an inventory in the given format, or the one its content shows (`auto`, the default). */
export function parseInventoryText(text: string, file: string, format: InventoryFormat | 'auto' = 'auto'): Inventory {
  const f = format === 'auto' ? detectInventoryFormat(text) : format;
  return f === 'kubectl' ? parseKubectlNodes(text, file) : parseInventory(text, file);
}
