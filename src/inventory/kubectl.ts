/**
 * The inventory as the cluster itself knows it: the output of `kubectl get nodes -o json`.
 *
 * Accepted: a v1 List of Nodes (`kubectl get nodes -o json`), a NodeList (`kubectl get --raw
 * /api/v1/nodes`, items without "kind") or a single Node (`kubectl get node NAME -o json`).
 * Every node becomes a Machine (kubectlNode.ts says how). Problems carry file:line:column and
 * the source line, exactly like machines.txt's, pointing at the offending JSON value; all of them
 * are collected before throwing.
 *
 * Speed. A cluster's node list is large (~20 kB a node: managedFields, images...). A valid file
 * is read by jsonSlices.ts, which checks every byte but decodes only what routegen reads; when it
 * is not sure (any mistake in the file, a duplicate key...) the text is read the full way:
 * JSON.parse (jsonDocument.ts: the platform's parser, plus a check for what it lets through),
 * which finds and describes the mistakes. Both give the same values to the same checks below.
 * Positions are found only when something is shown (jsonPositions.ts), by one pass over the
 * text for all of them; the bytes are decoded to a text only then. A valid document never pays
 * for them, and a large file of one is never held whole: it is read through a window of ~1 MiB
 * (inputFile.ts), and read whole only when its text is needed.
 *
 * Machine.line / source / spans: see kubectlMachine.ts.
 */
import { basename } from 'node:path';
import { ProblemList } from '../errors.js';
import type { Inventory, Machine } from '../types.js';
import { short } from './describe.js';
import { parseJsonDocument } from './jsonDocument.js';
import { readShaped } from './jsonSlices.js';
import { JsonPositions, type JsonPath } from './jsonPositions.js';
import { HINT_SOURCE } from './jsonSyntax.js';
import { InputFile, inputText, type InventoryInput } from './inputFile.js';
import { KubectlMachine, NodePlace } from './kubectlMachine.js';
import { found, isObject, member, readNodeFacts, readNodeName, type Lookup, type Mark, type MessageText, type Report } from './kubectlNode.js';
import { parseInventory } from './machines.js';
import { SourceText } from './sourceText.js';

export type InventoryFormat = 'machines' | 'kubectl';

interface Pending {
  path: JsonPath;
  message: MessageText;
  hint?: string;
  mark: Mark;
}

/**
 * Reads `kubectl get nodes -o json` (a v1 List of Nodes, `kubectl get --raw /api/v1/nodes`'s
 * NodeList, or a single Node). Every problem is collected; throws a UserError holding all of
 * them, with the position of the offending JSON value. `read: 'full'` skips the fast reader
 * (tests check that both give the same).
 */
export function parseKubectlNodes(input: InventoryInput, file: string, read: 'fast' | 'full' = 'fast'): Inventory {
  // A byte order mark is not part of the document (columns are counted without it, as the
  // user's editor shows the line).
  const src = new SourceText(() => {
    const text = inputText(input);
    return text.startsWith('\ufeff') ? text.slice(1) : text;
  });
  const problems = new ProblemList();
  const add = (start: number, end: number, message: string, hint?: string) => {
    const p = src.pos(start);
    problems.add({ file, line: p.line, column: p.column, length: Math.max(1, end - start), source: src.source(p.line), message, hint });
  };

  const doc = (read === 'fast' && (input instanceof InputFile ? input.scan(readShaped) : readShaped(input))) || parseJsonDocument(src);
  if (doc.problems.length) {
    for (const p of doc.problems) add(p.start, p.end, p.message, p.hint);
    problems.throwIfAny(`${file} is not valid JSON`);
  }

  const positions = new JsonPositions(src);
  const pending: Pending[] = [];
  const report: Report = (path, message, hint, mark = 'value') => {
    positions.need(path);
    pending.push({ path, message, hint, mark });
  };
  const pos = (path: JsonPath) => src.pos(positions.range(path).start);

  const nodes = listNodes(doc.value, report);

  const machines: Machine[] = [];
  const byName = new Map<string, JsonPath>();
  const byHostname = new Map<string, { name: string; path: JsonPath }>();

  for (const { node, path, where } of nodes) {
    if (!isObject(node)) {
      report(path, found(`${where} must be a Node object`, node, path), HINT_SOURCE);
      continue;
    }
    const kind = member(node, 'kind');
    if (kind !== undefined && kind !== 'Node') {
      const kindPath = path.concat('kind');
      report(kindPath, typeof kind !== 'string' ? found(`"kind" of ${where} must be a string`, kind, kindPath) : `${where} is a ${short(kind)}, not a Node`, 'list nodes only: `kubectl get nodes -o json`');
      continue;
    }
    const named = readNodeName(node, path, where, report);
    if (!named) continue;
    const { name, path: namePath } = named;
    let ok = named.ok;
    if (ok) {
      const hostname = name.split('.')[0]!;
      const same = byName.get(name);
      const clash = byHostname.get(hostname);
      if (same) {
        positions.need(same);
        report(namePath, (at) => `node name "${short(name)}" appears twice (first on line ${at.line(same)})`, 'a cluster names each node once: were two outputs joined?');
        ok = false;
      } else if (clash) {
        positions.need(clash.path);
        report(namePath, (at) => `node "${short(name)}" has the same hostname "${hostname}" as node "${short(clash.name)}" (line ${at.line(clash.path)})`, 'routegen names each host by the first label of its node name; these must differ');
        ok = false;
      } else {
        byName.set(name, namePath);
        byHostname.set(hostname, { name, path: namePath });
      }
    }

    const place = new NodePlace(positions, src, namePath);
    const facts = readNodeFacts(node, path, name, namePath, report, (p) => place.lazySpan(p));
    if (ok && facts) {
      positions.need(facts.ipPath);
      positions.need(facts.fqdnPath);
      if (facts.subnetPath) positions.need(facts.subnetPath);
      machines.push(new KubectlMachine(facts, place));
    }
  }

  if (pending.length) {
    const lookup: Lookup = {
      source: (p) => {
        const r = positions.range(p);
        return src.text.slice(r.start, r.end);
      },
      line: (p) => pos(p).line,
    };
    for (const p of pending) {
      const r = positions.range(p.path);
      const [start, end] = p.mark === 'key' ? [r.keyStart, r.keyEnd] : p.mark === 'start' ? [r.start, r.start + 1] : [r.start, r.end];
      add(start, end, typeof p.message === 'function' ? p.message(lookup) : p.message, p.hint);
    }
  }
  problems.throwIfAny(`${file} is not a valid inventory`);
  return { file, name: basename(file), machines };
}

/** The Node objects of the document, with their paths and how messages name them. */
function listNodes(root: unknown, report: Report): Array<{ node: unknown; path: JsonPath; where: string }> {
  const nodes: Array<{ node: unknown; path: JsonPath; where: string }> = [];
  if (!isObject(root)) {
    report([], found('expected a List of Nodes or a Node', root, []), HINT_SOURCE);
    return nodes;
  }
  const kind = member(root, 'kind');
  const items = member(root, 'items');
  if (kind !== undefined && typeof kind !== 'string') {
    report(['kind'], found('"kind" must be a string', kind, ['kind']), HINT_SOURCE);
  } else if (kind === 'Node' || (kind === undefined && items === undefined && member(root, 'metadata') !== undefined)) {
    nodes.push({ node: root, path: [], where: 'the node' });
  } else if (kind === 'List' || kind === 'NodeList' || (kind === undefined && items !== undefined)) {
    if (items === undefined) report(['kind'], `the ${kind ?? 'List'} has no "items"`, HINT_SOURCE);
    else if (!Array.isArray(items)) report(['items'], found('"items" must be an array of Nodes', items, ['items']), HINT_SOURCE);
    else if (items.length === 0) report(['items'], 'no nodes: "items" is empty', 'the cluster has no nodes registered yet? `kubectl get nodes` should list them');
    else for (let i = 0; i < items.length; i++) nodes.push({ node: items[i], path: ['items', i], where: `items[${i}]` });
  } else if (kind !== undefined) {
    report(['kind'], `this is a ${short(kind)}, not a Node or a List of Nodes`, HINT_SOURCE);
  } else {
    report([], 'this object has no "kind": expected a List of Nodes or a Node', HINT_SOURCE, 'start');
  }
  return nodes;
}

/** `kubectl` when the text (or the file's bytes) is a JSON object (kubectl's output), else
 * `machines`. Of a file, only its head is read (unless it begins with 4 kB of blanks). */
export function detectInventoryFormat(input: InventoryInput): InventoryFormat {
  if (typeof input === 'string') return /^\ufeff?\s*\{/.test(input) ? 'kubectl' : 'machines';
  const size = input instanceof InputFile ? input.size : input.length;
  const head = (input instanceof InputFile ? input.head(4096) : input).toString('utf8', 0, 4096);
  if (size > 4096 && /^\ufeff?\s*$/.test(head)) return detectInventoryFormat(inputText(input));
  return detectInventoryFormat(head);
}

/** Reads an inventory (its text, the file's bytes, or the file) in the given format, or the one
 * its content shows (`auto`, the default). */
export function parseInventoryText(input: InventoryInput, file: string, format: InventoryFormat | 'auto' = 'auto'): Inventory {
  const f = format === 'auto' ? detectInventoryFormat(input) : format;
  return f === 'kubectl' ? parseKubectlNodes(input, file) : parseInventory(inputText(input), file);
}
