/**
 * The inventory from the cluster: `kubectl get nodes -o json`. Plans must equal machines.txt's
 * for the same cluster; every bad document gives file:line:column of the offending JSON value.
 * fixtures/kubectl/invalid/<case>/expected.txt is the exact text a user sees (as formatted by
 * formatUserError; parse + plan); UPDATE_GOLDEN=1 rewrites them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatUserError, UserError } from '../src/errors.js';
import { EMPTY_CONFIG } from '../src/inventory/config.js';
import { detectInventoryFormat, parseInventoryText, parseKubectlNodes } from '../src/inventory/kubectl.js';
import { parseInventory } from '../src/inventory/machines.js';
import { hostPlan, planRoutes } from '../src/plan.js';
import type { Inventory } from '../src/types.js';
import { caseSeed, describeInput, INSERTABLE, makeRng, problemLayoutDefect, runSeed, userErrorDefect, type Rng } from './helpers/mutate.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = join(ROOT, 'fixtures/kubectl');
const read = (p: string) => readFileSync(join(DIR, p), 'utf8');
const GUIDE = read('nodes.json');
const DUAL = read('dual-stack.json');
const update = process.env.UPDATE_GOLDEN === '1';

const routes = (inv: Inventory) => {
  const plan = planRoutes(inv, EMPTY_CONFIG);
  return Object.fromEntries(plan.hosts.map((h) => [h.machine.hostname, hostPlan(plan, h).routes.map((r) => `${r.to} via ${r.via}`)]));
};

function failure(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('expected a UserError');
}
const problems = (fn: () => unknown) => failure(fn).problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
const parse = (text: string) => parseKubectlNodes(text, 'nodes.json');
const plan = (text: string) => planRoutes(parse(text), EMPTY_CONFIG);
/** 1-based line of the first line holding `needle`. */
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

/** A one-line Node (compact JSON), for documents whose positions are easy to read. */
const node = (name: string, ips: string[], cidrs?: string[], extra = '') =>
  `{"kind": "Node", "metadata": {"name": ${JSON.stringify(name)}}, ${cidrs ? `"spec": {"podCIDRs": ${JSON.stringify(cidrs)}}, ` : ''}"status": {"addresses": [${ips.map((ip) => `{"type": "InternalIP", "address": "${ip}"}`).join(', ')}${extra}]}}`;
const list = (...nodes: string[]) => `{"apiVersion": "v1", "kind": "List", "items": [\n${nodes.join(',\n')}\n]}\n`;

// --- the guide's cluster -----------------------------------------------------------------------

test("the guide's nodes.json plans exactly the guide's worker routes", () => {
  assert.equal(routes(parse(GUIDE)), {
    'node-0': ['10.200.1.0/24 via 192.168.10.102'],
    'node-1': ['10.200.0.0/24 via 192.168.10.101'],
  });
});

test("the guide's nodes become machines like machines.txt's lines", () => {
  const inv = parse(GUIDE);
  assert.is(inv.file, 'nodes.json');
  assert.is(inv.name, 'nodes.json');
  const [n0, n1] = inv.machines;
  assert.equal(inv.machines.map((m) => [m.hostname, m.fqdn, m.addresses.map((a) => a.text), m.podSubnets.map((s) => s.text)]), [
    ['node-0', 'node-0', ['192.168.10.101'], ['10.200.0.0/24']],
    ['node-1', 'node-1', ['192.168.10.102'], ['10.200.1.0/24']],
  ]);
  // Machine.line is the line of metadata.name; the spans point at the name there, since the
  // addresses and podCIDRs are on other lines.
  assert.is(n0!.line, 20);
  assert.is(n0!.source, '                "name": "node-0",');
  assert.is(n1!.line, 130);
  assert.is(n1!.line, lineOf(GUIDE, '"name": "node-1"'));
  const name = { column: 25, length: 8 };
  assert.equal(n1!.spans, { ip: name, fqdn: name, hostname: name, subnet: name });
  assert.equal(n1!.addresses[0]!.span, name);
  assert.equal(n1!.podSubnets[0]!.span, name);
});

test('machines.txt and nodes.json of the same workers give the same routes', () => {
  const txt = parseInventory(readFileSync(join(ROOT, 'fixtures/guide/machines.txt'), 'utf8'), 'machines.txt');
  const workers = { ...txt, machines: txt.machines.filter((m) => m.hostname !== 'server') };
  assert.equal(routes(parse(GUIDE)), routes(workers));
});

test('dual-stack: IPv4 via IPv4, IPv6 via IPv6; a node without podCIDRs gets routes only', () => {
  const inv = parse(DUAL);
  assert.equal(inv.machines.map((m) => [m.hostname, m.fqdn, m.addresses.map((a) => a.text)]), [
    ['server', 'server.kubernetes.local', ['192.168.10.100', 'fd00:10::100']],
    ['node-0', 'node-0.kubernetes.local', ['192.168.10.101', 'fd00:10::101']],
    ['node-1', 'node-1.kubernetes.local', ['192.168.10.102', 'fd00:10::102']],
  ]);
  assert.equal(inv.machines[0]!.podSubnets, []);
  assert.is(inv.machines[0]!.spans.subnet, undefined);
  assert.equal(routes(inv), {
    server: ['10.200.0.0/24 via 192.168.10.101', '10.200.1.0/24 via 192.168.10.102', 'fd00:10:200::/64 via fd00:10::101', 'fd00:10:200:1::/64 via fd00:10::102'],
    'node-0': ['10.200.1.0/24 via 192.168.10.102', 'fd00:10:200:1::/64 via fd00:10::102'],
    'node-1': ['10.200.0.0/24 via 192.168.10.101', 'fd00:10:200::/64 via fd00:10::101'],
  });
  // The same cluster written as machines.txt plans the same.
  assert.equal(routes(inv), routes(parseInventory(readFileSync(join(ROOT, 'fixtures/dual-stack/machines.txt'), 'utf8'), 'machines.txt')));
  // hostPlan: the primary address is the first InternalIP
  const p = planRoutes(inv, EMPTY_CONFIG);
  assert.equal(hostPlan(p, p.hosts[1]!).ip, '192.168.10.101');
  assert.equal(hostPlan(p, p.hosts[1]!).addresses, ['192.168.10.101', 'fd00:10::101']);
});

// --- format detection --------------------------------------------------------------------------

test('the format is detected from the content', () => {
  assert.is(detectInventoryFormat(GUIDE), 'kubectl');
  assert.is(detectInventoryFormat('\ufeff \r\n\t{"kind": "List"}'), 'kubectl');
  assert.is(detectInventoryFormat(readFileSync(join(ROOT, 'fixtures/guide/machines.txt'), 'utf8')), 'machines');
  assert.is(detectInventoryFormat('# {"kind": "List"}\n192.168.10.100 server.kubernetes.local server\n'), 'machines');
  assert.is(detectInventoryFormat(''), 'machines');
  assert.is(detectInventoryFormat('[{"kind": "Node"}]'), 'machines');
});

test('parseInventoryText dispatches by content, or as told', () => {
  const MACHINES = '192.168.10.101 node-0.kubernetes.local node-0 10.200.0.0/24\n';
  assert.is(parseInventoryText(GUIDE, 'nodes.json').machines.length, 2);
  assert.is(parseInventoryText(GUIDE, 'nodes.json', 'auto').machines.length, 2);
  assert.is(parseInventoryText(MACHINES, 'machines.txt').machines[0]!.fqdn, 'node-0.kubernetes.local');
  assert.is(parseInventoryText(GUIDE, 'nodes.json', 'kubectl').machines.length, 2);
  // told otherwise: machines.txt's parser on JSON reports machines.txt's problems
  assert.match(problems(() => parseInventoryText(GUIDE, 'nodes.json', 'machines'))[0]!, /^1:\d+: missing FQDN and HOSTNAME/);
  assert.equal(problems(() => parseInventoryText(MACHINES, 'machines.txt', 'kubectl')), ['1:1: "192.168.10.101" is not a JSON number']);
});

// --- invalid documents: fixtures with the exact text a user sees ------------------------------

const INVALID = join(DIR, 'invalid');
const EXPECTED: Record<string, string[]> = {
  'invalid-json': ['131:17: expected "," or "}" after a property value, found "resourceVersion"'],
  truncated: ['150:19: the file ends before the object opened on line 140 is closed'],
  'missing-internal-ip': ['141:30: node "node-1" has no InternalIP address: status.addresses lists only Hostname'],
  'bad-internal-ip': ['143:36: InternalIP "192.168.10.302" is not an IPv4 address'],
  'host-bits': ['137:21: pod subnet 10.200.1.5/24 has host bits set; did you mean 10.200.1.0/24?'],
  'duplicate-node-name': ['130:25: node name "node-0" appears twice (first on line 20)'],
  'upper-case-name': ['130:25: node name "Node-1" has upper-case letters'],
  'podcidrs-not-array': ['136:29: spec.podCIDRs of node "node-1" must be an array of CIDR strings; found the string "10.200.1.0/24"'],
  'not-nodes': ['6:21: items[0] is a Service, not a Node'],
  // found by validateInventory, on the line of node-1's name (the podCIDRs are on other lines)
  'overlapping-subnets': ['130:25: pod subnet 10.200.0.0/16 overlaps 10.200.0.0/24 of node-0 (line 20)'],
  // the issue's own example: a node list with podCIDRs ["128.0.0.0/2", "fe80::/10"]
  'special-subnets': [
    "252:25: pod subnet 128.0.0.0/2 is too wide for one node's pods (shorter than /8): every other host would send that whole range to node-1",
    '252:25: pod subnet fe80::/10 is the special-purpose range fe80::/10 (link-local): every other host would send that traffic to node-1',
  ],
};

test('every invalid fixture has its expectation', () => {
  const cases = readdirSync(INVALID).filter((d) => existsSync(join(INVALID, d, 'nodes.json')));
  assert.equal(cases.sort(), Object.keys(EXPECTED).sort());
});

for (const [name, expected] of Object.entries(EXPECTED)) {
  test(`invalid: ${name}`, () => {
    const text = readFileSync(join(INVALID, name, 'nodes.json'), 'utf8');
    const e = failure(() => plan(text));
    assert.equal(e.problems.map((p) => `${p.line}:${p.column}: ${p.message}`), expected);
    for (const p of e.problems) assert.is(p.source, text.split('\n')[p.line - 1], 'the source is the problem line');
    const file = join(INVALID, name, 'expected.txt');
    if (update) writeFileSync(file, `${formatUserError(e)}\n`);
    assert.fixture(`${formatUserError(e)}\n`, readFileSync(file, 'utf8'));
  });
}

test('invalid fixtures: hints say what would be right', () => {
  const hint = (name: string) => failure(() => plan(readFileSync(join(INVALID, name, 'nodes.json'), 'utf8'))).problems[0]!.hint;
  assert.is(hint('invalid-json'), 'is a comma missing at the end of line 130?');
  assert.is(hint('upper-case-name'), 'Kubernetes node names are lower case: write node-1');
  assert.is(hint('podcidrs-not-array'), 'write ["10.200.1.0/24"]');
  assert.is(hint('host-bits'), 'a pod subnet is a network address: the last 8 bits must be zero');
  assert.match(hint('missing-internal-ip')!, /InternalIP/);
  assert.match(hint('not-nodes')!, /kubectl get nodes -o json/);
});

test('validation errors point inside the right node', () => {
  const text = readFileSync(join(INVALID, 'overlapping-subnets', 'nodes.json'), 'utf8');
  const [p] = failure(() => plan(text)).problems;
  // the node object of node-1 spans these lines
  const lines = text.split('\n');
  const node1 = lineOf(text, '"name": "node-1"');
  let start = node1;
  while (lines[start - 1] !== '        {') start--;
  const end = lines.findIndex((l, i) => i >= node1 && l.startsWith('        }')) + 1;
  assert.ok(p!.line > start && p!.line < end, `${p!.line} inside ${start}..${end}`);
  assert.is(p!.source.trim(), '"name": "node-1",');

  // duplicate InternalIP between nodes: on the second node's name line
  const dup = GUIDE.replace('"address": "192.168.10.102"', '"address": "192.168.10.101"');
  assert.equal(problems(() => plan(dup)), ['130:25: address 192.168.10.101 is already used by node-0 on line 20']);
});

// --- invalid JSON ------------------------------------------------------------------------------

test('JSON syntax errors point at the offending character', () => {
  const cases: Array<[string, string]> = [
    ['', '1:1: the file holds no JSON value'],
    ['{"items": [1, 2,]}', '1:16: trailing comma before "]"'],
    ['{\n  "kind": "List",\n}', '2:17: trailing comma before "}"'],
    ["{'kind': 'List'}", '1:2: expected a property name in double quotes, found a single-quoted string'],
    ['{"kind": List}', '1:10: expected a value, found "List"'],
    ['{"podCIDR": 10.200.0.0/24}', '1:13: expected a value, found "10.200.0.0/24"'],
    ['{"a": 01}', '1:7: "01" is not a JSON number'],
    ['{"kind": "List" # list\n}', '1:17: expected "," or "}" after a property value, found a comment'],
    ['{\n  // nodes\n  "kind": "List"}', '2:3: expected a property name in double quotes, found a comment'],
    ['{"kind": "List\n}', '1:10: string is not closed on its line'],
    ['{"kind": "Li\\st"}', '1:13: invalid escape "\\s" in a string'],
    ['{"kind": "List"} {"kind": "List"}', '1:18: unexpected text after the end of the JSON document'],
    ['{"kind" "List"}', '1:9: expected ":" after the property name, found "List"'],
    ['{"items": [}', '1:12: expected a value, found "}"'],
    ['{"items": [1, [}', '1:16: expected a value, found "}"'],
    ['{"items": [1, 2}', '1:16: expected "," or "]" after an array element, found "}"'],
    ['{"items": [{"a": 1},\n  {"b": 2}\n  {"c": 3}]}', '3:3: expected "," or "]" after an array element, found "{"'],
    ['{"a": 1, "a": 2}', '1:10: duplicate key "a" in an object'],
    ['{"kind": "List"', '1:16: the file ends before the object opened on line 1 is closed'],
    [`${'['.repeat(300)}${']'.repeat(300)}`, '1:257: JSON nested more than 256 levels deep'],
  ];
  for (const [text, expected] of cases) assert.equal(problems(() => parse(text)), [expected], JSON.stringify(text));
  assert.is(failure(() => parse('{"a": [1,]}')).message, 'nodes.json is not valid JSON: 1 problem found; nothing was written or sent');
  assert.is(failure(() => parse('{"a": [1,]}')).problems[0]!.hint, 'JSON allows no comma after the last element');
});

test('a byte order mark and CRLF line ends do not shift positions', () => {
  const text = '\ufeff' + list(node('node-0', ['192.168.10.101'], ['10.200.0.0/24']), node('node-1', ['192.168.10.999'], ['10.200.1.0/24'])).replace(/\n/g, '\r\n');
  const e = failure(() => parse(text));
  assert.equal(e.problems.map((p) => `${p.line}:${p.column}: ${p.message}`), ['3:150: InternalIP "192.168.10.999" is not an IPv4 address']);
  assert.is(e.problems[0]!.source.slice(149, 165), '"192.168.10.999"');
  assert.not.match(e.problems[0]!.source, /\r/);
});

test('JSON whitespace that YAML reads otherwise: tab indentation (jq --tab), lone CRs', () => {
  const expected = routes(parse(GUIDE));
  const tabs = JSON.stringify(JSON.parse(GUIDE), null, '\t');
  assert.equal(routes(parse(tabs)), expected);
  assert.equal(routes(parse(GUIDE.replace(/\n/g, '\r'))), expected);
  assert.equal(routes(parse(GUIDE.replace('"kubernetes.io/os": "linux"', '"kubernetes.io/os"\r: \t"linux"'))), expected);
  // positions in a tab-indented file count a tab as one column
  const bad = tabs.replace('"192.168.10.102"', '"192.168.10.1020"');
  const line = lineOf(bad, '192.168.10.1020');
  assert.equal(problems(() => parse(bad)), [`${line}:${bad.split('\n')[line - 1]!.indexOf('"') + 12}: InternalIP "192.168.10.1020" is not an IPv4 address`]);
});

// --- not a list of nodes, wrong types ----------------------------------------------------------

test('documents that are not nodes are named as what they are', () => {
  assert.equal(problems(() => parse('[\n  {"kind": "Node"}\n]')), ['1:1: expected a List of Nodes or a Node; found an array']);
  assert.equal(problems(() => parse('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}')), ['1:30: this is a Pod, not a Node or a List of Nodes']);
  assert.equal(problems(() => parse('{"kind": 3}')), ['1:10: "kind" must be a string; found the number 3']);
  assert.equal(problems(() => parse('{"apiVersion": "v1"}')), ['1:1: this object has no "kind": expected a List of Nodes or a Node']);
  assert.equal(problems(() => parse('{"kind": "List"}')), ['1:10: the List has no "items"']);
  assert.equal(problems(() => parse('{"kind": "List", "items": {}}')), ['1:27: "items" must be an array of Nodes; found an object']);
  assert.equal(problems(() => parse('{"kind": "List", "items": []}')), ['1:27: no nodes: "items" is empty']);
  assert.equal(problems(() => parse('{"kind": "List", "items": [\n  "node-0",\n  null\n]}')), ['2:3: items[0] must be a Node object; found the string "node-0"', '3:3: items[1] must be a Node object; found null']);
});

test('wrong types are reported at the value, with what was found', () => {
  const p = problems(() =>
    parse(
      list(
        '{"metadata": {"name": 7}}',
        '{"metadata": {"name": "a"}, "status": {"addresses": {"type": "InternalIP"}}}',
        '{"metadata": {"name": "b"}, "status": {"addresses": [{"type": "InternalIP", "address": 17}]}}',
        '{"metadata": {"name": "c"}, "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.3"}]}, "spec": {"podCIDRs": ["10.0.0.0/24", true]}}',
        '{"metadata": {"name": "d"}, "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.4"}]}, "spec": {"podCIDR": ["10.0.1.0/24"]}}',
        '{"metadata": "e"}',
        '{"spec": {}}',
        '{"metadata": {"name": "f"}, "status": []}',
        '{"metadata": {"name": "g"}, "status": {"addresses": [{"address": "192.0.2.7"}]}}',
      ),
    ),
  );
  assert.equal(p, [
    '2:23: metadata.name of items[0] must be a string; found the number 7',
    '3:53: status.addresses of node "a" must be an array; found an object',
    '4:88: "address" of an address of node "b" must be a string; found the number 17',
    '5:141: an entry of spec.podCIDRs of node "c" must be a CIDR string; found true',
    '6:124: spec.podCIDR of node "d" must be a CIDR string; found an array',
    '7:14: metadata of items[5] must be an object; found the string "e"',
    '8:1: items[6] has no metadata.name',
    '9:39: status of node "f" must be an object; found an array',
    '10:54: an address of node "g" has no "type"',
  ]);
});

// --- nodes -------------------------------------------------------------------------------------

test('a single Node object, and a NodeList whose items have no kind, are read too', () => {
  const one = parse(node('node-0', ['192.168.10.101'], ['10.200.0.0/24']));
  assert.equal(one.machines.map((m) => m.hostname), ['node-0']);
  const raw = parse('{"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": [{"metadata": {"name": "node-0"}, "spec": {"podCIDR": "10.200.0.0/24"}, "status": {"addresses": [{"type": "InternalIP", "address": "192.168.10.101"}]}}]}');
  assert.equal(raw.machines.map((m) => [m.hostname, m.podSubnets.map((s) => s.text)]), [['node-0', ['10.200.0.0/24']]]);
});

test('hostname and FQDN: a dotted node name, else a dotted Hostname or InternalDNS address', () => {
  const hn = (name: string, extra: string) => node(name, ['192.0.2.1'], undefined, extra);
  const inv = parse(
    list(
      hn('node-0.kubernetes.local', ', {"type": "Hostname", "address": "other.example"}'),
      node('node-1', ['192.0.2.2'], undefined, ', {"type": "InternalDNS", "address": "ip-192-0-2-2.ec2.internal"}, {"type": "Hostname", "address": "node-1.kubernetes.local"}'),
      node('node-2', ['192.0.2.3'], undefined, ', {"type": "InternalDNS", "address": "node-2.cluster.internal"}, {"type": "Hostname", "address": "node-2"}'),
      node('node-3', ['192.0.2.4'], undefined, ', {"type": "Hostname", "address": "node-3"}'),
      node('node-4', ['192.0.2.5'], undefined, ', {"type": "Hostname", "address": "bad_name.example"}'),
    ),
  );
  assert.equal(inv.machines.map((m) => [m.hostname, m.fqdn]), [
    ['node-0', 'node-0.kubernetes.local'],
    ['node-1', 'node-1.kubernetes.local'],
    ['node-2', 'node-2.cluster.internal'],
    ['node-3', 'node-3'],
    ['node-4', 'node-4'],
  ]);
  // spans on the name's line point at the value itself
  const m1 = inv.machines[1]!;
  assert.is(m1.source.slice(m1.spans.fqdn.column - 1, m1.spans.fqdn.column - 1 + m1.spans.fqdn.length), '"node-1.kubernetes.local"');
});

test('node names get the hostname check of machines.txt', () => {
  assert.equal(
    problems(() => parse(list(node('Node-0', ['192.0.2.1']), node('node_1', ['192.0.2.2']), node('-node-2', ['192.0.2.3']), node('node-3..local', ['192.0.2.4']), node('', ['192.0.2.5'])))),
    [
      '2:39: node name "Node-0" has upper-case letters',
      '3:39: node name "node_1" contains "_"',
      '4:39: node name "-node-2" is not a valid RFC 1123 label',
      '5:39: node name "node-3..local" is not a valid DNS name',
      '6:39: node name is empty',
    ],
  );
});

test('duplicate node names and clashing short hostnames', () => {
  assert.equal(problems(() => parse(list(node('node-0', ['192.0.2.1']), node('node-0', ['192.0.2.2'])))), ['3:39: node name "node-0" appears twice (first on line 2)']);
  assert.equal(problems(() => parse(list(node('node-0.a.example', ['192.0.2.1']), node('node-0.b.example', ['192.0.2.2'])))), [
    '3:39: node "node-0.b.example" has the same hostname "node-0" as node "node-0.a.example" (line 2)',
  ]);
});

test('InternalIP: the first of each family, in order; other address types are ignored', () => {
  const inv = parse(
    node('node-0', ['fd00:10:0:0::101', '192.168.10.101', '192.168.10.201', 'fd00:10::201'], ['10.200.0.0/24'], ', {"type": "ExternalIP", "address": "203.0.113.7"}'),
  );
  assert.equal(inv.machines[0]!.addresses.map((a) => a.text), ['fd00:10::101', '192.168.10.101']);
});

test('address and podCIDR problems', () => {
  assert.equal(
    problems(() =>
      parse(
        list(
          node('a', ['192.0.2.1/24']),
          node('b', [], undefined, '{"type": "ExternalIP", "address": "203.0.113.7"}'),
          '{"kind": "Node", "metadata": {"name": "c"}}',
          node('d', ['192.0.2.4'], ['10.0.0.0/24', '10.0.1.0/24']),
          node('e', ['192.0.2.5'], ['10.0.2.0']),
          node('f', ['192.0.2.6'], ['10.0.3.0/33']),
          node('g', ['192.0.2.7'], ['fd00::1/64']),
        ),
      ),
    ),
    [
      '2:104: InternalIP "192.0.2.1/24" of node "a" has a prefix length',
      '3:69: node "b" has no InternalIP address: status.addresses lists only ExternalIP',
      '4:39: node "c" has no InternalIP address: its status.addresses is missing',
      '5:81: more than one IPv4 pod subnet for node "d"',
      '6:67: pod subnet "10.0.2.0" has no prefix length',
      '7:67: pod subnet "10.0.3.0/33" has an invalid prefix length "/33"',
      '8:67: pod subnet fd00::1/64 has host bits set; did you mean fd00::/64?',
    ],
  );
});

test('podCIDR is the fallback for podCIDRs; it must agree with podCIDRs[0]; no podCIDRs is fine', () => {
  const spec = (s: string) => `{"kind": "Node", "metadata": {"name": "node-0"}, "spec": ${s}, "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.1"}]}}`;
  assert.equal(parse(spec('{"podCIDR": "10.200.0.0/24"}')).machines[0]!.podSubnets.map((s) => s.text), ['10.200.0.0/24']);
  assert.equal(parse(spec('{"podCIDR": "10.200.0.0/24", "podCIDRs": ["10.200.0.0/24", "fd00::/64"]}')).machines[0]!.podSubnets.map((s) => s.text), ['10.200.0.0/24', 'fd00::/64']);
  for (const s of ['{}', '{"podCIDRs": []}', '{"podCIDRs": null}', '{"podCIDR": ""}']) assert.equal(parse(spec(s)).machines[0]!.podSubnets, [], s);
  assert.equal(parse('{"kind": "Node", "metadata": {"name": "n"}, "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.1"}]}}').machines[0]!.podSubnets, []);
  assert.equal(problems(() => parse(spec('{"podCIDR": "10.200.9.0/24", "podCIDRs": ["10.200.0.0/24"]}'))), ['1:70: spec.podCIDR 10.200.9.0/24 of node "node-0" differs from spec.podCIDRs[0] 10.200.0.0/24']);
});

test('every problem of every node is reported at once, in file order', () => {
  const text = GUIDE.replace('"address": "192.168.10.101"', '"address": "192.168.10.1O1"').replace('"name": "node-1"', '"name": "node_1"').replace(/"10\.200\.1\.0\/24"\n/, '"10.200.1.0/23"\n');
  assert.equal(problems(() => parse(text)), [
    '33:36: InternalIP "192.168.10.1O1" is not an IPv4 address',
    '130:25: node name "node_1" contains "_"',
    '137:21: pod subnet 10.200.1.0/23 has host bits set; did you mean 10.200.0.0/23?',
  ]);
});

// --- spans on one line -------------------------------------------------------------------------

test('single-line JSON (jq -c): spans point at the values themselves', () => {
  const compact = JSON.stringify(JSON.parse(GUIDE));
  const inv = parse(compact);
  const m = inv.machines[1]!;
  assert.is(m.line, 1);
  const at = (s: { column: number; length: number }) => m.source.slice(s.column - 1, s.column - 1 + s.length);
  assert.is(at(m.spans.hostname), '"node-1"');
  assert.is(at(m.spans.ip), '"192.168.10.102"');
  assert.is(at(m.addresses[0]!.span), '"192.168.10.102"');
  assert.is(at(m.spans.subnet!), '["10.200.1.0/24"]');
  assert.is(at(m.podSubnets[0]!.span), '"10.200.1.0/24"');
  // so validateInventory's carets land on the duplicated address
  const dup = compact.replace('"address":"192.168.10.102"', '"address":"192.168.10.101"');
  const [p] = failure(() => plan(dup)).problems;
  assert.is(p!.message, 'address 192.168.10.101 is already used by node-0 on line 1');
  assert.is(p!.source.slice(p!.column - 1, p!.column - 1 + p!.length), '"192.168.10.101"');
  assert.ok(p!.column > compact.indexOf('"node-1"'), 'the second one');
});

// Its speed is measured by the benchmarks in bench/, never by a timed test (machines differ).
test('a cluster of 1,000 nodes is read whole: every node, every route', () => {
  const items = [];
  for (let i = 0; i < 1000; i++) {
    const n = JSON.parse(GUIDE).items[0];
    n.metadata.name = `node-${i}`;
    n.status.addresses = [{ address: `10.${i >> 8}.${i & 255}.1`, type: 'InternalIP' }, { address: `node-${i}`, type: 'Hostname' }];
    n.spec.podCIDR = `172.${16 + (i >> 8)}.${i & 255}.0/24`;
    n.spec.podCIDRs = [n.spec.podCIDR];
    items.push(n);
  }
  const text = JSON.stringify({ apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } }, null, 4);
  const p = plan(text);
  assert.is(p.destinations.length, 1000);
  assert.is(hostPlan(p, p.hosts[7]!).routes.length, 999);
});

// --- mutation fuzzing -------------------------------------------------------------------------

const JSON_BITS = ['"', '{', '}', '[', ']', ',', ':', ' ', '\n', 'null', 'true', '0', '-', '1e5', '"x"', '\\', '\\u12', '\\n', "'", '//', '#', '\ufeff', '\r', '\t', '\t\t'];

function mutateJson(base: string, rng: Rng): string {
  let t = base;
  for (let k = 1 + rng.int(3); k > 0; k--) {
    const at = rng.int(t.length + 1);
    const lines = t.split('\n');
    const li = rng.int(lines.length);
    switch (rng.int(7)) {
      case 0: // delete a few characters
        t = t.slice(0, at) + t.slice(at + 1 + rng.int(rng.chance(0.2) ? 40 : 3));
        break;
      case 1: // insert JSON syntax or something nasty
        t = t.slice(0, at) + rng.pick(rng.chance(0.6) ? JSON_BITS : INSERTABLE) + t.slice(at);
        break;
      case 2: // replace one character
        t = t.slice(0, at) + rng.pick([...JSON_BITS, ...INSERTABLE]) + t.slice(at + 1);
        break;
      case 3: // drop a line
        lines.splice(li, 1);
        t = lines.join('\n');
        break;
      case 4: // duplicate a line (duplicate keys, repeated elements)
        lines.splice(li, 0, lines[li]!);
        t = lines.join('\n');
        break;
      case 5: // cut the file short
        t = t.slice(0, at);
        break;
      default: // change a value: an address, a CIDR or a name
        t = t.replace(rng.pick(['192.168.10.101', '10.200.1.0/24', 'node-1"', '"InternalIP"', '"List"', '"Node"']), rng.pick(['192.168.10.102', '10.200.0.0/16', 'Node-1"', '"ExternalIP"', '[]', '{}', 'null', '7', '"fd00::1"']));
    }
  }
  return rng.chance(0.1) ? t.replace(/\n/g, '\r\n') : t;
}

const SEED = runSeed('FUZZ_SEED', 0x6b756265);
const N_FUZZ = Number(process.env.FUZZ_CASES ?? 400);

test(`fuzz: ${N_FUZZ} mutated nodes.json read cleanly, with positions in the file (FUZZ_SEED=${SEED})`, () => {
  let valid = 0;
  for (let i = 0; i < N_FUZZ; i++) {
    const text = mutateJson(GUIDE, makeRng(caseSeed(SEED, i)));
    const body = text.startsWith('\ufeff') ? text.slice(1) : text;
    const lines = body.split('\n').map((l) => l.replace(/\r$/, ''));
    let jsonOk = true;
    try {
      JSON.parse(body);
    } catch {
      jsonOk = false;
    }
    const where = `case ${i} (FUZZ_SEED=${SEED}): ${describeInput(text)}`;
    try {
      const inv = parse(text);
      assert.ok(jsonOk, `accepted invalid JSON: ${where}`);
      for (const m of inv.machines) {
        assert.is(m.source, lines[m.line - 1], `Machine.source: ${where}`);
        for (const sp of [m.spans.ip, m.spans.fqdn, m.spans.hostname, ...m.addresses.map((a) => a.span), ...m.podSubnets.map((n) => n.span)]) {
          assert.ok(sp.column >= 1 && sp.column - 1 + sp.length <= m.source.length, `span ${JSON.stringify(sp)} outside line ${m.line}: ${where}`);
        }
      }
      valid++;
    } catch (e) {
      if (!(e instanceof UserError)) throw new Error(`crash: ${where}: ${(e as Error).stack}`);
      const defect = userErrorDefect(e, lines) ?? e.problems.map(problemLayoutDefect).find((d) => d !== null) ?? null;
      assert.is(defect, null, where);
      const syntax = /is not valid JSON/.test(e.message);
      const duplicateKey = e.problems.some((p) => p.message.startsWith('duplicate key'));
      assert.is(syntax, !jsonOk || duplicateKey, `JSON.parse ${jsonOk ? 'accepts' : 'rejects'} it, routegen says "${e.message}" (${e.problems[0]?.message}): ${where}`);
    }
  }
  assert.ok(valid > 0 && valid < N_FUZZ, `${valid} of ${N_FUZZ} cases parsed`);
});

test.run();
