/** Renders each host's file for its stack from templates/, byte for byte the same for the same plan. */
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from './errors.js';
import { hostPlan, type PlannedHost, type RoutePlan } from './plan.js';
import { STACKS } from './stacks/index.js';
import type { HostPlan, HostSettings, RenderedFile, Route, StackName } from './types.js';

/** templates/ beside src/ and dist/ alike. */
export const TEMPLATE_DIR = fileURLToPath(new URL('../templates/', import.meta.url));

type Delegate = HandlebarsTemplateDelegate;

/**
 * A stack's template, compiled once per process. When the template is text, then one top-level
 * `{{#each routes}}` block, then text — and nothing outside that block mentions `routes` — it is
 * also compiled as those three parts, so that each route's block is rendered once per process
 * and settings instead of once per host: a cluster of n workers has n² routes but only n
 * distinct ones. The block may use the route's fields and the host's settings (`../interface`),
 * never `../host`.
 */
interface Compiled {
  whole: Delegate;
  split?: { head: Delegate; each: Delegate; tail: Delegate };
}

const OPTIONS = { noEscape: true, strict: true } as const;
const compiled = new Map<StackName, Compiled>();

function mentionsRoutes(node: unknown): boolean {
  return JSON.stringify(node).includes('"routes"');
}

/** Compiled once per process; `noEscape` because these are not HTML, `strict` so that a
 * missing field is an error rather than an empty string in a network file. */
function template(stack: StackName): Compiled {
  let t = compiled.get(stack);
  if (!t) {
    const src = readFileSync(TEMPLATE_DIR + STACKS[stack].template, 'utf8');
    // precompile() parses eagerly, so a broken template fails here rather than mid-render.
    Handlebars.precompile(src, OPTIONS);
    t = { whole: Handlebars.compile(src, OPTIONS) };
    const ast = Handlebars.parse(src);
    const at = ast.body.flatMap((st, i) => (mentionsRoutes(st) ? [i] : []));
    const block = at.length === 1 ? (ast.body[at[0]!] as hbs.AST.BlockStatement) : undefined;
    // Not when the block uses @index, @first, @last...: rendered one route at a time they would be wrong.
    const usesData = JSON.stringify(block?.program ?? null).includes('"data":true');
    if (block?.type === 'BlockStatement' && (block.path as hbs.AST.PathExpression).original === 'each' && !block.inverse && !usesData && mentionsRoutes(block.params)) {
      const part = (body: hbs.AST.Statement[]) => Handlebars.compile({ ...ast, body }, OPTIONS);
      t.split = { head: part(ast.body.slice(0, at[0])), each: part([block]), tail: part(ast.body.slice(at[0]! + 1)) };
    }
    compiled.set(stack, t);
  }
  return t;
}

/**
 * What a template sees besides the host's name and its routes, the metric each route carries,
 * and a key naming that combination (route blocks rendered with it can be reused). One place,
 * so that renderHost and renderPlanBytes cannot drift apart.
 */
function templateContext(s: HostSettings, inventoryLabel: string) {
  const shared = { inventory: inventoryLabel, interface: s.interface, networkdFile: s.networkdFile ?? null, section: s.netplanSection ?? null, netplanId: s.netplanId ?? null };
  const metric = s.metric === undefined ? null : String(s.metric);
  return { shared, metric, key: JSON.stringify([s.stack, shared, metric]) };
}

/** Rendered route blocks, per template and host settings (all but the host's name). */
const blocks = new Map<string, WeakMap<Route, string>>();

function routeBlocks(key: string): WeakMap<Route, string> {
  let m = blocks.get(key);
  if (!m) blocks.set(key, (m = new WeakMap()));
  return m;
}

/** The inventory's file name as it may appear in a generated comment: nothing that could end
 * the comment line or confuse a reader. */
function safeLabel(name: string): string {
  return name.replace(/[^A-Za-z0-9._+@-]/g, '_') || 'inventory';
}

/** Offline, a networkd host's `.network` file defaults to `10-<interface>.network`, a netplan
 * host's definition to `ethernets: <interface>`; push asks the host instead (`networkctl status`,
 * netplan's files). */
export function renderSettings(s: HostSettings): HostSettings {
  if (s.stack === 'networkd' && s.interface && !s.networkdFile) return { ...s, networkdFile: `10-${s.interface}.network` };
  if (s.stack === 'netplan' && (!s.netplanSection || !s.netplanId)) return { ...s, netplanSection: s.netplanSection ?? 'ethernets', netplanId: s.netplanId ?? s.interface };
  return s;
}

/**
 * Every host must have the settings its stack needs before anything is rendered; lists every
 * host that lacks one, so the user fixes them all in one go.
 */
export function checkRenderable(hosts: PlannedHost[]): void {
  const missing: string[] = [];
  for (const h of hosts) {
    const s = renderSettings(h.settings);
    if (!s.stack) {
      missing.push(`${h.machine.hostname}: no network stack`);
      continue;
    }
    if (STACKS[s.stack].merges) {
      missing.push(`${h.machine.hostname}: NetworkManager — routegen edits the routes of its connection's keyfile on the host, which render cannot do offline (use \`routegen diff\`)`);
      continue;
    }
    for (const r of STACKS[s.stack].required) {
      if (!s[r]) missing.push(`${h.machine.hostname}: no ${r === 'networkdFile' ? 'networkd file' : 'interface'} (stack ${s.stack})`);
    }
  }
  if (missing.length === 0) return;
  const shown = missing.length > 8 ? [...missing.slice(0, 8), `... and ${missing.length - 8} more`] : missing;
  throw new UserError(`routegen needs to know each host's network stack and interface:\n  ${shown.join('\n  ')}`, {
    kind: 'usage',
    hint: 'pass --stack networkd|netplan|ifupdown and --interface IFACE (e.g. --stack networkd --interface eth1), set them in routegen.yaml under defaults: or hosts:, or let `routegen discover --write` find them on the hosts',
  });
}

/**
 * Renders one host's file. A host with no routes gets no file: routegen removes the file it
 * owns there instead.
 */
export function renderHost(host: HostPlan, inventoryName: string): RenderedFile[] {
  const s = renderSettings(host.settings);
  if (!s.stack || STACKS[s.stack].merges) throw new Error(`internal: renderHost(${host.name}) without a stack it can render`);
  if (host.routes.length === 0) return [];
  const stack = STACKS[s.stack];
  const t = template(s.stack);
  const { shared, metric, key } = templateContext(s, safeLabel(inventoryName));
  const ctx = { ...shared, host: host.name };
  let content: string;
  if (t.split) {
    const { head, each, tail } = t.split;
    const cache = routeBlocks(key);
    const parts = [head({ ...ctx, routes: [] })];
    for (const r of host.routes) {
      let b = cache.get(r);
      // Without `host`: a block that used it would fail (strict) rather than be cached for every host.
      if (b === undefined) cache.set(r, (b = each({ ...shared, routes: [{ to: r.to, via: r.via, metric }] })));
      parts.push(b);
    }
    parts.push(tail({ ...ctx, routes: [] }));
    content = parts.join('');
  } else {
    content = t.whole({ ...ctx, routes: host.routes.map((r) => ({ to: r.to, via: r.via, metric })) });
  }
  return [{ host: host.name, path: stack.path(s), mode: stack.mode, content }];
}

/** One host's file as bytes: `chunks` concatenated (slices of buffers shared between hosts). */
export interface RenderedBytes {
  host: string;
  path: string;
  mode: number;
  chunks: Uint8Array[];
}

/** Every destination's block for one template and settings, concatenated in plan order. */
interface BlockRun {
  bytes: Buffer;
  /** starts[i] is where destination i's block begins; starts[n] = bytes.length. */
  starts: number[];
}

/**
 * Renders the plan's hosts one by one, as bytes, for `render`: the same files as renderHost(),
 * but each destination's block is rendered once per settings, all of them are laid end to end in
 * one buffer, and a host's file is its header, the slices of that buffer around its own
 * destinations, and its footer — O(1) string work per host instead of O(routes).
 */
export function* renderPlanBytes(plan: RoutePlan, hosts: PlannedHost[]): Generator<RenderedBytes> {
  const inventory = safeLabel(plan.inventory.name);
  const own = new Map<string, number[]>();
  plan.destinations.forEach((d, i) => {
    const list = own.get(d.owner);
    if (list) list.push(i);
    else own.set(d.owner, [i]);
  });
  const runs = new Map<string, BlockRun>();
  for (const h of hosts) {
    const s = renderSettings(h.settings);
    if (!s.stack) throw new Error(`internal: renderPlanBytes(${h.machine.hostname}) without a stack`);
    const t = template(s.stack);
    const mine = own.get(h.machine.hostname) ?? [];
    if (!t.split) {
      // A template of another shape: render it whole, as renderHost does.
      for (const f of renderHost(hostPlan(plan, h), plan.inventory.name)) yield { host: f.host, path: f.path, mode: f.mode, chunks: [Buffer.from(f.content)] };
      continue;
    }
    if (plan.destinations.length - mine.length === 0) continue; // no routes: no file
    const { shared, metric, key } = templateContext(s, inventory);
    let run = runs.get(key);
    if (!run) {
      const each = t.split.each;
      const parts = plan.destinations.map((r) => each({ ...shared, routes: [{ to: r.to, via: r.via, metric }] }));
      const starts: number[] = [0];
      for (const p of parts) starts.push(starts[starts.length - 1]! + Buffer.byteLength(p));
      run = { bytes: Buffer.from(parts.join('')), starts };
      runs.set(key, run);
    }
    const ctx = { ...shared, host: h.machine.hostname, routes: [] };
    const chunks: Uint8Array[] = [Buffer.from(t.split.head(ctx))];
    let from = 0;
    for (const i of mine) {
      if (run.starts[i]! > from) chunks.push(run.bytes.subarray(from, run.starts[i]));
      from = run.starts[i + 1]!;
    }
    if (from < run.bytes.length) chunks.push(run.bytes.subarray(from));
    chunks.push(Buffer.from(t.split.tail(ctx)));
    const stack = STACKS[s.stack];
    yield { host: h.machine.hostname, path: stack.path(s), mode: stack.mode, chunks };
  }
}
