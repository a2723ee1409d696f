/**
 * Property-based tests (fast-check): random valid inventories must plan exactly the routes an
 * independent model predicts, deterministically, whatever the formatting; random inventories
 * with one injected defect must be rejected with a problem at the defect's line and column.
 * In-process and fast. PROP_SEED=<n> replays a run (the seed is printed); PROP_RUNS=<n> scales it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { UserError } from '../src/errors.js';
import { EMPTY_CONFIG } from '../src/inventory/config.js';
import { parseInventory } from '../src/inventory/machines.js';
import { hostPlan, planRoutes } from '../src/plan.js';
import { renderHost } from '../src/render.js';
import { STACKS } from '../src/stacks/index.js';
import type { HostPlan, StackName } from '../src/types.js';
import { inventoryLines, problemDefect, renderedFileProblem, runSeed, userErrorDefect } from './helpers/mutate.js';

const SEED = runSeed('PROP_SEED', 20240611);
const SCALE = Number(process.env.PROP_RUNS ?? '1') || 1;
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
console.log(`properties: PROP_SEED=${SEED}`);
const params = (numRuns: number) => ({ seed: SEED, numRuns: runs(numRuns) });

// ---------------------------------------------------------------------------------------------
// Address arithmetic and text, written independently of src/ip.ts (and of ip-address)

type Fam = 4 | 6;
interface Net {
  family: Fam;
  start: bigint;
  prefix: number;
}

const bits = (f: Fam) => (f === 4 ? 32 : 128);

function v4Text(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
}
function v6Groups(v: bigint): number[] {
  return Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(112 - 16 * i)) & 0xffffn));
}
/** RFC 5952: lower case, no leading zeros, the longest run (first on a tie) of two or more
 * zero groups as "::". */
function v6Canonical(v: bigint): string {
  const g = v6Groups(v);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
/** Other ways a person writes the same IPv6 address; the parser must normalise all of them. */
function v6Written(v: bigint, style: number): string {
  const g = v6Groups(v);
  switch (style % 4) {
    case 1:
      return g.map((x) => x.toString(16).padStart(4, '0').toUpperCase()).join(':');
    case 2:
      return g.map((x) => x.toString(16)).join(':');
    case 3:
      return v6Canonical(v).toUpperCase();
    default:
      return v6Canonical(v);
  }
}
const addrText = (f: Fam, v: bigint) => (f === 4 ? v4Text(v) : v6Canonical(v));
const netText = (n: Net) => `${addrText(n.family, n.start)}/${n.prefix}`;
const cmpNet = (a: Net, b: Net) => a.family - b.family || (a.start < b.start ? -1 : a.start > b.start ? 1 : 0) || a.prefix - b.prefix;

// ---------------------------------------------------------------------------------------------
// The model: what an inventory means, apart from how it is written

type Mode = 'v4' | 'dual' | 'v6';

interface MMachine {
  hostname: string;
  fqdn: string;
  v4?: bigint;
  v6?: bigint;
  subs: Net[];
}
interface Model {
  mode: Mode;
  machines: MMachine[];
}

/** How one machine's line is written. */
interface LineLayout {
  before: string[];
  lead: string;
  seps: [string, string, string];
  trail: string;
  comment: string | null;
  eol: '\n' | '\r\n';
  v6First: boolean;
  subsReversed: boolean;
  v6Style: number;
}
interface FileLayout {
  lines: LineLayout[];
  /** order[k] = index of the machine written k-th */
  order: number[];
  trailer: string[];
  finalEol: boolean;
}

const V4_NODE_BASE = (192n << 24n) | (168n << 16n); // 192.168.0.0/16
const V6_NODE_BASE = 0x20010db8n << 96n; // 2001:db8::/64
const V4_POD_BASES: Array<[bigint, number]> = [
  [10n << 24n, 8],
  [(172n << 24n) | (16n << 16n), 12],
  [(100n << 24n) | (64n << 16n), 10],
];
const V6_POD_BASE: [bigint, number] = [(0xfd00n << 112n) | (0x8000n << 80n), 33]; // fd00:0:8000::/33

const ws = (min: number, max: number) => fc.array(fc.constantFrom(' ', '\t'), { minLength: min, maxLength: max }).map((a) => a.join(''));
const commentText = fc
  .array(fc.constantFrom('a', 'Z', '0', ' ', '\t', '#', '-', '/', ':', ',', 'é', '😀', '\u200b', '\u202e', '$(id)', '`', ';', '|', '\x1b[31m', '\x00', '\x7f'), { maxLength: 12 })
  .map((a) => a.join(''));
const extraLine = fc.oneof(ws(0, 3), fc.tuple(ws(0, 2), commentText).map(([w, c]) => `${w}#${c}`));

const lineLayout: fc.Arbitrary<LineLayout> = fc.record({
  before: fc.array(extraLine, { maxLength: 2 }),
  lead: ws(0, 3),
  seps: fc.tuple(ws(1, 3), ws(1, 3), ws(1, 3)),
  trail: ws(0, 2),
  comment: fc.option(commentText, { freq: 3 }),
  eol: fc.constantFrom<'\n' | '\r\n'>('\n', '\r\n'),
  v6First: fc.boolean(),
  subsReversed: fc.boolean(),
  v6Style: fc.nat(3),
});

const fileLayout = (n: number): fc.Arbitrary<FileLayout> =>
  fc.record({
    lines: fc.array(lineLayout, { minLength: n, maxLength: n }),
    order: fc.shuffledSubarray(
      Array.from({ length: n }, (_, i) => i),
      { minLength: n, maxLength: n },
    ),
    trailer: fc.array(extraLine, { maxLength: 2 }),
    finalEol: fc.boolean(),
  });

const hostnameArb = fc.oneof(
  { weight: 8, arbitrary: fc.stringMatching(/^[a-z]([a-z0-9-]{0,14}[a-z0-9])?$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{61}[a-z0-9]$/) },
);
const domainArb = fc.constantFrom('kubernetes.local', 'k8s.example.org', 'Cluster.LAN', 'x');

/** Non-overlapping pod subnets of random prefix lengths: each family's pod range is cut into
 * 2^slotBits slots, each subnet lies somewhere in its own slot. */
function podNets(family: Fam, n: number): fc.Arbitrary<Array<{ net: Net; has: boolean }>> {
  const minBits = Math.ceil(Math.log2(Math.max(1, n)));
  const bases = family === 4 ? V4_POD_BASES : [V6_POD_BASE];
  return fc.tuple(fc.constantFrom(...bases), fc.integer({ min: minBits, max: 8 })).chain(([[base, basePrefix], slotBits]) => {
    const slotPrefix = basePrefix + slotBits;
    const max = bits(family);
    return fc.tuple(
      fc.shuffledSubarray(
        Array.from({ length: 2 ** slotBits }, (_, i) => i),
        { minLength: n, maxLength: n },
      ),
      fc.array(
        fc.record({
          prefix: fc.integer({ min: slotPrefix, max }),
          offset: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
          has: fc.integer({ min: 0, max: 4 }).map((x) => x > 0),
        }),
        { minLength: n, maxLength: n },
      ),
    ).map(([slots, picks]) =>
      picks.map((p, i) => {
        const slotStart = base + (BigInt(slots[i]!) << BigInt(max - slotPrefix));
        const choices = 1n << BigInt(p.prefix - slotPrefix);
        const start = slotStart + ((p.offset % choices) << BigInt(max - p.prefix));
        return { net: { family, start, prefix: p.prefix }, has: p.has };
      }),
    );
  });
}

const modelArb: fc.Arbitrary<Model> = fc.tuple(fc.constantFrom<Mode>('v4', 'v4', 'dual', 'v6'), fc.integer({ min: 1, max: 40 })).chain(([mode, n]) =>
  fc
    .record({
      hostnames: fc.uniqueArray(hostnameArb, { minLength: n, maxLength: n }),
      domain: domainArb,
      v4: fc.uniqueArray(fc.integer({ min: 1, max: 65533 }), { minLength: n, maxLength: n }),
      v6: fc.uniqueArray(fc.bigInt({ min: 1n, max: (1n << 64n) - 3n }), { minLength: n, maxLength: n }),
      nets4: podNets(4, n),
      nets6: podNets(6, n),
    })
    .map((r) => ({
      mode,
      machines: r.hostnames.map((hostname, i): MMachine => {
        const subs: Net[] = [];
        if (mode !== 'v6' && r.nets4[i]!.has) subs.push(r.nets4[i]!.net);
        if (mode !== 'v4' && r.nets6[i]!.has) subs.push(r.nets6[i]!.net);
        return {
          hostname,
          fqdn: `${hostname}.${r.domain}`,
          v4: mode === 'v6' ? undefined : V4_NODE_BASE + BigInt(r.v4[i]!),
          v6: mode === 'v4' ? undefined : V6_NODE_BASE + r.v6[i]!,
          subs,
        };
      }),
    })),
);

const inventoryArb = modelArb.chain((model) => fc.tuple(fc.constant(model), fileLayout(model.machines.length)));

// ---------------------------------------------------------------------------------------------
// Writing a model out as machines.txt, with the position of every field

/** One machine line as fields of comma-separated items, so that columns can be computed. */
interface MLine {
  machine: number;
  lead: string;
  fields: string[][];
  seps: string[];
  trail: string;
  comment: string | null;
  eol: string;
}

function machineLine(m: MMachine, idx: number, lay: LineLayout): MLine {
  const ips: string[] = [];
  if (m.v4 !== undefined) ips.push(v4Text(m.v4));
  if (m.v6 !== undefined) ips[lay.v6First ? 'unshift' : 'push'](v6Written(m.v6, lay.v6Style));
  const subs = m.subs.map((s) => (s.family === 4 ? netText(s) : `${v6Written(s.start, lay.v6Style + 1)}/${s.prefix}`));
  if (lay.subsReversed) subs.reverse();
  const fields = [ips, [m.fqdn], [m.hostname]];
  if (subs.length) fields.push(subs);
  return { machine: idx, lead: lay.lead, fields, seps: [...lay.seps], trail: lay.trail, comment: lay.comment, eol: lay.eol };
}

const fieldText = (items: string[]) => items.join(',');
function lineContent(l: MLine): string {
  let s = l.lead;
  l.fields.forEach((f, i) => {
    if (i > 0) s += l.seps[i - 1] ?? ' ';
    s += fieldText(f);
  });
  return s + l.trail;
}
function lineText(l: MLine): string {
  return lineContent(l) + (l.comment === null ? '' : `#${l.comment}`);
}
/** 1-based column of item k of field f. */
function columnOf(l: MLine, f: number, k = 0): number {
  let c = l.lead.length;
  for (let i = 0; i < f; i++) c += fieldText(l.fields[i]!).length + (l.seps[i] ?? ' ').length;
  for (let j = 0; j < k; j++) c += l.fields[f]![j]!.length + 1;
  return c + 1;
}

type Row = { kind: 'extra'; text: string; eol: string } | { kind: 'machine'; line: MLine };

function layoutRows(model: Model, layout: FileLayout): Row[] {
  const rows: Row[] = [];
  for (const idx of layout.order) {
    const lay = layout.lines[idx]!;
    for (const b of lay.before) rows.push({ kind: 'extra', text: b, eol: lay.eol });
    rows.push({ kind: 'machine', line: machineLine(model.machines[idx]!, idx, lay) });
  }
  for (const t of layout.trailer) rows.push({ kind: 'extra', text: t, eol: '\n' });
  return rows;
}

function rowsText(rows: Row[], finalEol: boolean): string {
  let s = '';
  rows.forEach((r, i) => {
    const eol = r.kind === 'extra' ? r.eol : r.line.eol;
    s += (r.kind === 'extra' ? r.text : lineText(r.line)) + (i < rows.length - 1 || finalEol ? eol : '');
  });
  return s;
}
/** 1-based line number of each machine line. */
const lineNumbers = (rows: Row[]) => {
  const out = new Map<MLine, number>();
  rows.forEach((r, i) => r.kind === 'machine' && out.set(r.line, i + 1));
  return out;
};

// ---------------------------------------------------------------------------------------------
// What the model says each host's routes are

interface ERoute {
  to: string;
  via: string;
  owner: string;
}
function expectedRoutes(model: Model, host: MMachine): ERoute[] {
  const all: Array<{ net: Net; r: ERoute }> = [];
  for (const o of model.machines) {
    if (o === host) continue;
    for (const s of o.subs) {
      const via = s.family === 4 ? o.v4! : o.v6!;
      all.push({ net: s, r: { to: netText(s), via: addrText(s.family, via), owner: o.hostname } });
    }
  }
  return all.sort((a, b) => cmpNet(a.net, b.net)).map((x) => x.r);
}

const STACK_LIST: StackName[] = ['networkd', 'netplan', 'ifupdown'];

interface Outcome {
  hosts: HostPlan[];
  files: Record<StackName, Array<{ path: string; mode: number; content: string } | null>>;
}

/** parse → plan → every host's routes and its file on every stack. */
function runAll(text: string, metric?: number): Outcome {
  const inv = parseInventory(text, 'machines.txt');
  const plan = planRoutes(inv, EMPTY_CONFIG, { stack: 'networkd', interface: 'eth1', ...(metric === undefined ? {} : { metric }) });
  const hosts = plan.hosts.map((h) => hostPlan(plan, h));
  const files = {} as Outcome['files'];
  for (const stack of STACK_LIST) {
    files[stack] = hosts.map((hp) => {
      const f = renderHost({ ...hp, settings: { ...hp.settings, stack } }, inv.name);
      assert.ok(f.length <= 1);
      return f[0] ? { path: f[0].path, mode: f[0].mode, content: f[0].content } : null;
    });
  }
  return { hosts, files };
}

const show = (text: string) => JSON.stringify(text.length > 3000 ? `${text.slice(0, 3000)}…` : text);

// ---------------------------------------------------------------------------------------------
// Valid inventories

test('valid inventories: every host gets exactly one route per OTHER subnet, via its owner, sorted', () => {
  fc.assert(
    fc.property(inventoryArb, fc.option(fc.nat(4294967295), { freq: 3 }), ([model, layout], metric) => {
      const rows = layoutRows(model, layout);
      const text = rowsText(rows, layout.finalEol);
      let out: Outcome;
      try {
        out = runAll(text, metric ?? undefined);
      } catch (e) {
        throw new Error(`a valid inventory was rejected: ${e instanceof UserError ? e.problems.map((p) => `${p.line}:${p.column}: ${p.message}`).join('; ') || e.message : e}\n${show(text)}`);
      }
      // hosts in file order, each as the model says
      const written = layout.order.map((i) => model.machines[i]!);
      assert.equal(out.hosts.map((h) => h.name), written.map((m) => m.hostname));
      for (const [k, hp] of out.hosts.entries()) {
        const m = written[k]!;
        const routes = hp.routes;
        const own = new Set(m.subs.map(netText));
        assert.ok(!routes.some((r) => own.has(r.to) || r.owner === m.hostname), `${m.hostname} has a route to its own subnet`);
        assert.equal(
          routes.map((r) => ({ to: r.to, via: r.via, owner: r.owner })),
          expectedRoutes(model, m),
          `routes of ${m.hostname}\n${show(text)}`,
        );
        // sorted: IPv4 first, then numerically (checked on the model's numbers, not text)
        for (const r of routes) assert.is(r.family, r.to.includes(':') ? 6 : 4);
        // each route goes via the owner's address of the same family
        for (const r of routes) {
          const o = model.machines.find((x) => x.hostname === r.owner)!;
          assert.is(r.via, addrText(r.family, (r.family === 4 ? o.v4 : o.v6)!));
        }
        const total = model.machines.reduce((n, x) => n + (x === m ? 0 : x.subs.length), 0);
        assert.is(routes.length, total);

        // rendered files: one [Route] per route, the destinations in order, nothing unsafe
        const nd = out.files.networkd[k];
        if (routes.length === 0) {
          for (const s of STACK_LIST) assert.is(out.files[s][k], null, `${s}: a host without routes gets no file`);
          continue;
        }
        assert.ok(nd);
        assert.is(nd.content.match(/^\[Route\]$/gm)?.length ?? 0, routes.length, 'one [Route] section per route');
        assert.is(nd.content.match(/^Metric=/gm)?.length ?? 0, metric === null ? 0 : routes.length);
        for (const s of STACK_LIST) {
          const f = out.files[s][k]!;
          // The stack's own reading of the file (push uses it to verify rollbacks) gives the plan back.
          assert.equal(STACKS[s].routes(f.content), routes.map((r) => ({ to: r.to, via: r.via, ...(metric === null ? {} : { metric: Number(metric) }) })), `${s} routes of ${m.hostname}`);
          assert.is(f.mode, STACKS[s].mode);
          const bad = renderedFileProblem(f.content);
          assert.is(bad, null, `${s} file of ${m.hostname}: ${bad}`);
        }
      }
    }),
    params(150),
  );
});

test('the same input always gives the same plan and the same bytes', () => {
  fc.assert(
    fc.property(inventoryArb, ([model, layout]) => {
      const text = rowsText(layoutRows(model, layout), layout.finalEol);
      const a = runAll(text, 100);
      const b = runAll(text, 100);
      assert.is(JSON.stringify(a), JSON.stringify(b));
      // and the parse itself is pure: a second parse of the same text is deep-equal
      const inv1 = parseInventory(text, 'machines.txt');
      const inv2 = parseInventory(text, 'machines.txt');
      assert.equal(inv1, inv2);
    }),
    params(60),
  );
});

test('formatting, comments, CRLF, address spelling and line order change no host file', () => {
  const twoLayouts = modelArb.chain((model) => fc.tuple(fc.constant(model), fileLayout(model.machines.length), fileLayout(model.machines.length)));
  fc.assert(
    fc.property(twoLayouts, ([model, l1, l2]) => {
      const byHost = (o: Outcome) =>
        Object.fromEntries(o.hosts.map((h, k) => [h.name, { routes: h.routes, files: STACK_LIST.map((s) => o.files[s][k]) }]));
      const t1 = rowsText(layoutRows(model, l1), l1.finalEol);
      const t2 = rowsText(layoutRows(model, l2), l2.finalEol);
      assert.equal(byHost(runAll(t1)), byHost(runAll(t2)), `${show(t1)}\nvs\n${show(t2)}`);
    }),
    params(80),
  );
});

// ---------------------------------------------------------------------------------------------
// Invalid inventories: one known defect, injected into a valid one

const DEFECTS = ['host-bits', 'duplicate-hostname', 'duplicate-ip', 'overlapping-subnet', 'subnet-holds-node', 'extra-field', 'bad-ip', 'uppercase-hostname', 'missing-field'] as const;
type Defect = (typeof DEFECTS)[number];

interface Expect {
  line: number;
  column: number;
  message: RegExp;
}

/** Picks with a fast-check-provided number, so that shrinking stays meaningful. */
const choose = <T>(items: readonly T[], r: number): T => items[r % items.length]!;

/**
 * Applies the defect to the rows (in place) and says where the problem must be reported.
 * Every defect is in a machine line of a valid inventory, or in one appended machine line.
 */
function inject(model: Model, rows: Row[], defect: Defect, r: number[]): Expect {
  const mlines = rows.flatMap((row) => (row.kind === 'machine' ? [row.line] : []));
  const lineNo = () => lineNumbers(rows);
  const fam: Fam = model.mode === 'v6' ? 6 : model.mode === 'dual' ? choose([4, 6] as const, r[0]!) : 4;
  const ipItem = (l: MLine, f: Fam) => l.fields[0]!.findIndex((t) => (f === 6) === t.includes(':'));
  const subItem = (l: MLine, f: Fam) => (l.fields[3] ?? []).findIndex((t) => (f === 6) === t.includes(':'));
  const addrOf = (l: MLine, f: Fam) => {
    const m = model.machines[l.machine]!;
    return f === 4 ? m.v4! : m.v6!;
  };
  /** A fresh, valid machine line appended at the end (distinct name and addresses). */
  const append = (): MLine => {
    const l: MLine = {
      machine: -1,
      lead: '',
      fields: [[...(model.mode !== 'v6' ? [v4Text(V4_NODE_BASE + 65535n)] : []), ...(model.mode !== 'v4' ? [v6Canonical(V6_NODE_BASE + (1n << 64n) - 1n)] : [])], ['appended.test'], ['0appended']],
      seps: [' ', ' ', ' '],
      trail: '',
      comment: null,
      eol: '\n',
    };
    rows.push({ kind: 'machine', line: l });
    return l;
  };
  const pick = <T>(items: T[], k: number) => items[r[k]! % items.length];

  switch (defect) {
    case 'host-bits': {
      const l = pick(
        mlines.filter((x) => model.machines[x.machine]!.subs.some((s) => s.prefix < bits(s.family))),
        1,
      );
      if (!l) {
        const a = append();
        a.fields.push(model.mode === 'v6' ? ['2001:db8:ffff::1/64'] : ['10.255.255.1/24']);
        return { line: lineNo().get(a)!, column: columnOf(a, 3), message: /has host bits set/ };
      }
      const m = model.machines[l.machine]!;
      const s = m.subs.find((x) => x.prefix < bits(x.family))!;
      const k = subItem(l, s.family);
      const hostBitsCount = bits(s.family) - s.prefix;
      const v = s.start + (1n << BigInt(r[2]! % hostBitsCount));
      l.fields[3]![k] = `${addrText(s.family, v)}/${s.prefix}`;
      return { line: lineNo().get(l)!, column: columnOf(l, 3, k), message: /has host bits set; did you mean/ };
    }
    case 'duplicate-hostname':
    case 'duplicate-ip': {
      const src = pick(mlines, 1)!;
      const dst = mlines.length < 2 ? append() : pick(mlines.filter((x) => x !== src), 2)!;
      if (defect === 'duplicate-hostname') dst.fields[2] = [model.machines[src.machine]!.hostname];
      // IPv6 written differently, to check that duplicates are found after normalisation
      else dst.fields[0]![ipItem(dst, fam)] = fam === 4 ? v4Text(addrOf(src, 4)) : v6Written(addrOf(src, 6), r[3]!);
      const ln = lineNo();
      const later = ln.get(dst)! > ln.get(src)! ? dst : src;
      return defect === 'duplicate-hostname'
        ? { line: ln.get(later)!, column: columnOf(later, 2), message: /^hostname ".*" is already used by/ }
        : { line: ln.get(later)!, column: columnOf(later, 0, ipItem(later, fam)), message: /^address .* is already used by/ };
    }
    case 'overlapping-subnet': {
      const owners = mlines.filter((x) => model.machines[x.machine]!.subs.some((s) => s.family === fam));
      const a = pick(owners, 1);
      if (!a) {
        // nothing to overlap yet: two appended machines with nested subnets
        const x = append();
        x.fields[3] = [fam === 4 ? '10.250.0.0/16' : '2001:db8:ffff::/48'];
        const y = append();
        y.fields[0] = y.fields[0]!.map((t) => (t.includes(':') ? v6Canonical(V6_NODE_BASE + (1n << 64n) - 2n) : v4Text(V4_NODE_BASE + 65534n)));
        y.fields[1] = ['appended2.test'];
        y.fields[2] = ['0appended2'];
        y.fields[3] = [fam === 4 ? '10.250.1.0/24' : '2001:db8:ffff:1::/64'];
        return { line: lineNo().get(y)!, column: columnOf(y, 3), message: /overlaps/ };
      }
      const s = model.machines[a.machine]!.subs.find((x) => x.family === fam)!;
      const others = mlines.filter((x) => x !== a);
      const b = others.length ? pick(others, 2)! : append();
      // b's subnet of this family becomes one nested in a's, or one containing it
      const max = bits(fam);
      const basePrefix = fam === 4 ? V4_POD_BASES.find(([base, p]) => s.start >> BigInt(max - p) === base >> BigInt(max - p))![1] : V6_POD_BASE[1];
      let o: Net;
      if (r[3]! % 2 === 0 || s.prefix === basePrefix) {
        const p = s.prefix + (r[4]! % (max - s.prefix + 1));
        const choices = 1n << BigInt(p - s.prefix);
        o = { family: fam, start: s.start + ((BigInt(r[5]!) % choices) << BigInt(max - p)), prefix: p };
      } else {
        const p = basePrefix + (r[4]! % (s.prefix - basePrefix));
        o = { family: fam, start: (s.start >> BigInt(max - p)) << BigInt(max - p), prefix: p };
      }
      const text = netText(o);
      if (!b.fields[3]) b.fields[3] = [];
      const k = subItem(b, fam);
      if (k >= 0) b.fields[3]![k] = text;
      else b.fields[3]!.push(text);
      const ln = lineNo();
      const later = ln.get(b)! > ln.get(a)! ? b : a;
      return { line: ln.get(later)!, column: columnOf(later, 3, subItem(later, fam)), message: /^pod subnet .* overlaps / };
    }
    case 'subnet-holds-node': {
      // owner's subnet of this family is replaced by one around some machine's node address
      const owner = pick(mlines, 1)!;
      const target = pick(mlines, 2)!;
      const addr = addrOf(target, fam);
      const max = bits(fam);
      const minP = fam === 4 ? 16 : 64; // stays inside the node range: no overlap with pod subnets
      const p = minP + (r[3]! % (max - minP + 1));
      const text = netText({ family: fam, start: (addr >> BigInt(max - p)) << BigInt(max - p), prefix: p });
      if (!owner.fields[3]) owner.fields[3] = [];
      const k = subItem(owner, fam);
      if (k >= 0) owner.fields[3]![k] = text;
      else owner.fields[3]!.push(text);
      return { line: lineNo().get(owner)!, column: columnOf(owner, 3, subItem(owner, fam)), message: /^pod subnet .* contains (its own|.*'s) address/ };
    }
    case 'extra-field': {
      const l = pick(mlines, 1)!;
      const junk = choose(['extra', 'x', '10.0.0.0/8', 'node-9', '$(id)', ';', '192.168.0.1'], r[2]!);
      if (l.fields.length === 3) l.fields.push([choose(['10.254.0.0/24', 'junk'], r[3]!)]);
      l.fields.push([junk]);
      if (r[3]! % 3 === 0) l.fields.push(['more']);
      l.seps = [...l.seps, ' ', '\t'];
      return { line: lineNo().get(l)!, column: columnOf(l, 4), message: /^unexpected fields? after the pod subnet/ };
    }
    case 'bad-ip': {
      const l = pick(mlines, 1)!;
      const k = ipItem(l, fam);
      if (fam === 4) {
        const oct = v4Text(addrOf(l, 4)).split('.');
        const which = r[2]! % 4;
        oct[which] = r[3]! % 3 === 0 ? `0${oct[which]}` : String(256 + (r[4]! % 744));
        l.fields[0]![k] = oct.join('.');
        return { line: lineNo().get(l)!, column: columnOf(l, 0, k), message: /is not an IPv4 address/ };
      }
      l.fields[0]![k] = choose([`${v6Canonical(addrOf(l, 6))}:1:2:3:4:5:6:7`, '2001:db8::1ffff', '2001:db8::g1', '2001:db8:::1'], r[2]!);
      return { line: lineNo().get(l)!, column: columnOf(l, 0, k), message: /is not an IPv6 address/ };
    }
    case 'uppercase-hostname': {
      const l = pick(mlines, 1)!;
      const h = l.fields[2]![0]!;
      const letters = [...h].map((c, i) => (/[a-z]/.test(c) ? i : -1)).filter((i) => i >= 0);
      const upto = 1 + (r[2]! % letters.length);
      l.fields[2] = [[...h].map((c, i) => (letters.slice(0, upto).includes(i) ? c.toUpperCase() : c)).join('')];
      return { line: lineNo().get(l)!, column: columnOf(l, 2), message: /has upper-case letters/ };
    }
    case 'missing-field': {
      const l = pick(mlines, 1)!;
      l.fields = l.fields.slice(0, 1 + (r[2]! % 2));
      return { line: lineNo().get(l)!, column: lineContent(l).trimEnd().length + 1, message: /^missing (FQDN and HOSTNAME|HOSTNAME): found [12] fields?/ };
    }
  }
}

test('an inventory with one injected defect is rejected at the defect', () => {
  const counts = new Map<Defect, number>();
  fc.assert(
    fc.property(inventoryArb, fc.constantFrom(...DEFECTS), fc.array(fc.nat(1_000_000), { minLength: 6, maxLength: 6 }), ([model, layout], defect, r) => {
      const rows = layoutRows(model, layout);
      const want = inject(model, rows, defect, r);
      const text = rowsText(rows, layout.finalEol);
      counts.set(defect, (counts.get(defect) ?? 0) + 1);
      let err: unknown;
      try {
        planRoutes(parseInventory(text, 'machines.txt'), EMPTY_CONFIG);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof UserError, `${defect}: expected a UserError, got ${err instanceof Error ? err.stack : String(err)}\n${show(text)}`);
      const e = err as UserError;
      const got = e.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
      assert.ok(
        e.problems.some((p) => p.line === want.line && p.column === want.column && want.message.test(p.message)),
        `${defect}: no problem at ${want.line}:${want.column} matching ${want.message}; got:\n  ${got.join('\n  ')}\n${show(text)}`,
      );
      const lines = inventoryLines(text);
      for (const p of e.problems) assert.is(problemDefect(p, lines), null, `${defect}: ${got.join('; ')}`);
      assert.is(userErrorDefect(e, lines), null);
    }),
    params(400),
  );
  for (const d of DEFECTS) assert.ok((counts.get(d) ?? 0) > 0, `defect ${d} was never generated`);
});

test.run();
