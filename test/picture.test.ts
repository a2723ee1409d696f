/** `routegen plan --format dot|mermaid`: the guide's plan as a picture, drawn by the real Graphviz. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, routegen } from './helpers/cli.js';
import { main, quickArgs } from '../src/cli.js';

const GUIDE = join(ROOT, 'fixtures/guide/machines.txt');
const MACHINES = [
  ['server', '192.168.10.100', 'no pod subnet'],
  ['node-0', '192.168.10.101', 'pods 10.200.0.0/24'],
  ['node-1', '192.168.10.102', 'pods 10.200.1.0/24'],
];
const ROUTES = [
  ['server', 'node-0', '10.200.0.0/24 via 192.168.10.101'],
  ['server', 'node-1', '10.200.1.0/24 via 192.168.10.102'],
  ['node-0', 'node-1', '10.200.1.0/24 via 192.168.10.102'],
  ['node-1', 'node-0', '10.200.0.0/24 via 192.168.10.101'],
];

const unescape = (s: string) => s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&amp;/g, '&');

/** The texts Graphviz drew in each node and edge group of an SVG, keyed by the group's title. */
function svgGroups(svg: string, cls: 'node' | 'edge'): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const g of svg.split(`<g id="`).slice(1)) {
    if (!g.includes(`class="${cls}"`)) continue;
    const title = unescape(/<title>([^<]*)<\/title>/.exec(g)![1]!);
    groups.set(title, [...g.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => unescape(m[1]!)));
  }
  return groups;
}

test("plan --format dot, rendered to SVG by Graphviz's dot, names every machine, subnet and route", () => {
  const r = routegen(['plan', '-i', GUIDE, '--format', 'dot']);
  assert.is(r.code, 0, r.stderr);
  const dot = spawnSync('dot', ['-Tsvg'], { input: r.stdout, encoding: 'utf8', timeout: 60_000 });
  if (dot.error && process.env.CI !== 'true') {
    console.log('SKIPPED: Graphviz (dot) is not installed: apt-get install graphviz');
    return;
  }
  assert.is(dot.status, 0, dot.error ? String(dot.error) : dot.stderr);
  assert.is(dot.stderr, '', 'dot warned');
  const nodes = svgGroups(dot.stdout, 'node');
  const byName = new Map([...nodes.values()].map((texts) => [texts[0], texts]));
  assert.equal([...byName.values()].sort(), MACHINES.sort());
  const ids = new Map([...nodes].map(([id, texts]) => [id, texts[0]]));
  const edges = [...svgGroups(dot.stdout, 'edge')].map(([title, texts]) => {
    const [from, to] = title.split('->');
    return [ids.get(from!), ids.get(to!), texts.join(' ')];
  });
  assert.equal(edges.sort(), [...ROUTES].sort());
});

test('plan --format mermaid: a flowchart with every machine and one arrow per route', () => {
  const r = routegen(['plan', '-i', GUIDE, '--format', 'mermaid']);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines[0], 'flowchart LR');
  const boxes = new Map(lines.flatMap((l) => {
    const m = /^ {2}(\w+)\["(.*)"\]$/.exec(l);
    return m ? [[m[1]!, m[2]!.split('<br/>')]] : [];
  }));
  assert.equal([...boxes.values()].sort(), MACHINES.sort());
  const arrows = lines.flatMap((l) => {
    const m = /^ {2}(\w+) -->\|"(.*)"\| (\w+)$/.exec(l);
    return m ? [[boxes.get(m[1]!)![0], boxes.get(m[3]!)![0], m[2]]] : [];
  });
  assert.equal(arrows.sort(), [...ROUTES].sort());
  assert.is(lines.length, 1 + MACHINES.length + ROUTES.length);
});

test('--hosts draws the chosen hosts\' routes and the machines they go through', () => {
  const r = routegen(['plan', '-i', GUIDE, '--format', 'mermaid', '--hosts', 'node-0']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.match(/-->/g)?.length, 1);
  assert.not.match(r.stdout, 'server');
});

test('--format is parsed alike by the fast path and by yargs', async () => {
  const quick = quickArgs(['plan', '--format', 'dot']);
  assert.is(quick?.command === 'plan' && quick.args.format, 'dot');
  assert.is(quickArgs(['plan', '--format', 'png']), null); // yargs owns the error
  const out: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t), c: undefined as never, ce: undefined as never, isTTY: false };
  // --format=dot with a repeated -i goes to yargs (the fast path declines repeated options)
  const code = await main(['plan', '-i', GUIDE, '-i', GUIDE, '--format', 'dot'], io);
  assert.is(code, 2, out.join('\n')); // yargs: two inventories is an error...
  assert.is(await main(['plan', '--inventory', GUIDE, '--format=dot', '--help'], io), 0); // ...and --help is yargs'
  assert.match(out.join('\n'), '--format');
});

test.run();
