/**
 * NetworkManager keyfiles (nm-settings-keyfile(5)): routegen owns no file of its own on a
 * NetworkManager host — NM activates one connection per device — so it edits the routes of the
 * connection that owns the interface. It owns exactly the routes whose destination lies inside
 * the cluster's pod subnets; every other line of the file stays as it was, byte for byte (a
 * kept route may only get a new number, its value is untouched).
 *
 * How NM 1.42 reads routes (checked against `nmcli --offline`, see test/nmKeyfile.test.ts):
 * - in [ipv4] / [ipv6], keys `route`, `routeN`, `routes`, `routesN` (N without leading zeros);
 *   `route` first, then by N, `routeN` before `routesN`; NM renumbers them densely on save;
 * - value `dest/prefix,gateway,metric` (see parseRouteValue for the legacy forms NM accepts);
 *   a value NM cannot read is dropped silently (no error from nmcli); host bits are kept;
 * - `<key>_options=` belongs to the route key it names (`route2_options`, `routes1_options`).
 *
 * Pure: no I/O. The file on the host must stay mode 0600 (NM ignores keyfiles others can read).
 */
import { Address4, Address6 } from 'ip-address';
import { UserError } from '../errors.js';

export type Family = 4 | 6;

/** Mode of a keyfile in /etc/NetworkManager/system-connections: NM refuses anything else. */
export const KEYFILE_MODE = 0o600;

export interface PlannedRoute {
  family: Family;
  to: string;
  via: string;
  metric?: number;
}

export interface AddressRange {
  family: Family;
  start: bigint;
  end: bigint;
}

/** A route as NetworkManager reads it from a keyfile. */
export interface KeyfileRoute {
  family: Family;
  /** The key it was read from (`route3`, `routes1`, `route`). */
  key: string;
  /** Destination with its prefix length (NM's default added when the file has none). */
  to: string;
  /** Gateway; '' when there is none (absent, empty, 0.0.0.0 or ::). */
  via: string;
  metric?: number;
  /** The raw value of `<key>_options`, when there is one. */
  options?: string;
}

const SECTIONS: Record<Family, string> = { 4: 'ipv4', 6: 'ipv6' };
const ROUTE_KEY = /^(routes?)(0|[1-9]\d*)?(_options)?$/;
const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

interface Line {
  /** The line without its end-of-line. */
  text: string;
  /** `key` and the start of what follows it, for `key=value` lines. */
  key?: string;
  lead?: string;
  rest?: string;
  value?: string;
}

interface RouteEntry {
  line: number;
  key: string;
  base: 'route' | 'routes';
  /** -1 for `route` / `routes` without a number. */
  index: number;
  value: string;
}

interface Section {
  name: string;
  /** Line index of the header. */
  header: number;
  /** One past the last line of the section. */
  end: number;
  routes: RouteEntry[];
  /** `<key>_options` lines by the key they name. */
  options: Map<string, number>;
  /** Every line index that is a route or route option (what a merge rewrites). */
  routeLines: number[];
  method?: string;
}

function splitLines(text: string): { lines: Line[]; eol: string } {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const raw = text.split('\n');
  const lines = raw.map((l, i) => {
    // A trailing \r belongs to the end-of-line, except on a last line without one.
    const body = l.endsWith('\r') && i < raw.length - 1 ? l.slice(0, -1) : l;
    // GKeyFile: leading whitespace ignored; key ends at '=', its trailing whitespace ignored;
    // the value's leading whitespace ignored. '#' starts a comment line.
    const m = /^(\s*)([^=#[\s][^=]*?)(\s*=\s*)(.*)$/.exec(body);
    if (!m) return { text: body };
    return { text: body, lead: m[1], key: m[2], rest: `${m[3]}${m[4]}`, value: m[4] };
  });
  return { lines, eol };
}

function parseSections(lines: Line[]): Map<string, Section> {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as Line;
    const header = /^\s*\[([^\]]*)\]\s*$/.exec(line.text);
    if (header) {
      if (current) current.end = i;
      const name = header[1] as string;
      if (name === 'ipv4' || name === 'ipv6') {
        if (sections.has(name)) {
          throw new UserError(`the keyfile has two [${name}] sections; NetworkManager merges them, routegen will not guess`, {
            hint: 'merge them into one section by hand (or `nmcli connection modify` it once), then run routegen again',
          });
        }
        current = { name, header: i, end: lines.length, routes: [], options: new Map(), routeLines: [] };
        sections.set(name, current);
      } else {
        current = undefined;
      }
      continue;
    }
    if (!current || line.key === undefined) continue;
    if (line.key === 'method') current.method = line.value?.trim();
    const m = ROUTE_KEY.exec(line.key);
    if (!m) continue;
    const seen = current.routes.some((r) => r.key === line.key) || (m[3] && current.options.has(line.key.slice(0, -'_options'.length)));
    if (seen) {
      throw new UserError(`the keyfile's [${current.name}] section sets ${line.key} twice (line ${i + 1}); NetworkManager keeps the last, routegen will not guess`, {
        hint: `remove one of the two ${line.key} lines`,
      });
    }
    current.routeLines.push(i);
    if (m[3]) {
      current.options.set(line.key.slice(0, -'_options'.length), i);
    } else {
      current.routes.push({ line: i, key: line.key, base: m[1] as 'route' | 'routes', index: m[2] === undefined ? -1 : Number(m[2]), value: line.value ?? '' });
    }
  }
  // NM's order: by number (none first), `route` before `routes` at the same number.
  for (const s of sections.values()) {
    s.routes.sort((a, b) => a.index - b.index || (a.base === b.base ? 0 : a.base === 'route' ? -1 : 1));
  }
  return sections;
}

function isAddress(text: string, family: Family): boolean {
  if (family === 4) return V4.test(text);
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !text.includes(':')) return false;
  try {
    new Address6(text);
    return true;
  } catch {
    return false;
  }
}

function canonical(addr: string, family: Family): string {
  return family === 4 ? addr : new Address6(addr).correctForm();
}

const IP_CHARS = '0123456789abcdefABCDEF:.%';
const DIGITS = '0123456789';
const DELIMITERS = '/;,';

/** NM's field reader: a run of `chars` ended by a delimiter (consumed) or the end. A run ended
 * by anything else is an error, and leaves the input where it was (a skippable field). */
function readField(st: { rest: string | null }, chars: string): { field: string | null; bad: boolean } {
  const s = st.rest;
  if (s === null || s === '') return { field: null, bad: false };
  let i = 0;
  while (i < s.length && chars.includes(s[i] as string)) i++;
  if (i === s.length) {
    st.rest = null;
    return { field: s, bad: false };
  }
  if (DELIMITERS.includes(s[i] as string)) {
    st.rest = s.slice(i + 1);
    return { field: s.slice(0, i), bad: false };
  }
  return { field: null, bad: true };
}

function uint(text: string, max: number): number | null {
  return /^\d+$/.test(text) && Number(text) <= max ? Number(text) : null;
}

/**
 * One route value as NM 1.42 reads it, or null where NM drops it (silently, for nmcli):
 * fields address, prefix length (skipped when it is not digits), gateway, metric, separated
 * by any of `/`, `;`, `,`; a missing or invalid prefix length is /24 (IPv4) or /128 (IPv6); an
 * IPv6 "gateway" that is a number and no metric is the metric (bgo#719851).
 */
function parseRouteValue(value: string, family: Family): { to: string; via: string; metric?: number } | null {
  const st = { rest: value as string | null };
  const dest = readField(st, IP_CHARS);
  if (dest.bad || dest.field === null) return null;
  const plen = readField(st, DIGITS).field;
  const gw = readField(st, IP_CHARS);
  if (gw.bad) return null;
  const metricField = readField(st, DIGITS);
  if (metricField.bad || (st.rest !== null && st.rest !== '')) return null;
  const max = family === 4 ? 32 : 128;
  const prefix = (plen === null ? null : uint(plen, max)) ?? (family === 4 ? 24 : 128);
  let via = gw.field ?? '';
  let metric: number | undefined;
  if (metricField.field !== null) {
    const m = uint(metricField.field, 0xffffffff);
    if (m === null) return null;
    metric = m;
  }
  if (via !== '' && !isAddress(via, family)) {
    const asMetric = family === 6 && metric === undefined ? uint(via, 0xffffffff) : null;
    if (asMetric === null) return null;
    metric = asMetric;
    via = '';
  }
  if (!isAddress(dest.field, family)) return null;
  const unspecified = via === '' || (family === 4 ? via === '0.0.0.0' : canonical(via, 6) === '::');
  return { to: `${canonical(dest.field, family)}/${prefix}`, via: unspecified ? '' : canonical(via, family), ...(metric !== undefined ? { metric } : {}) };
}

/** The network a destination names, host bits cleared (NM clears them before the kernel). */
function networkOf(to: string, family: Family): string | null {
  try {
    const a = family === 4 ? new Address4(to) : new Address6(to);
    return `${a.startAddress().correctForm()}/${a.subnetMask}`;
  } catch {
    return null;
  }
}

function inside(r: AddressRange, cluster: AddressRange[]): boolean {
  return cluster.some((c) => c.family === r.family && c.start <= r.start && r.end <= c.end);
}

/** The routes NetworkManager reads from a keyfile: [ipv4] then [ipv6], each in NM's order. */
export function keyfileRoutes(text: string): KeyfileRoute[] {
  const { lines } = splitLines(text);
  const sections = parseSections(lines);
  const out: KeyfileRoute[] = [];
  for (const family of [4, 6] as const) {
    const s = sections.get(SECTIONS[family]);
    if (!s) continue;
    for (const r of s.routes) {
      const v = parseRouteValue(r.value, family);
      if (!v) continue;
      const opt = s.options.get(r.key);
      out.push({ family, key: r.key, ...v, ...(opt !== undefined ? { options: lines[opt]?.value ?? '' } : {}) });
    }
  }
  return out;
}

/**
 * The keyfile with its pod routes replaced by `routes`: routes whose destination lies inside one
 * of `cluster`'s pod subnets (and their `_options`) are removed, every other route keeps its
 * value and its place in NM's order, renumbered densely from 1 (`routeN`), and the planned
 * routes follow them, ordered by destination. Everything else in the file is kept as it was.
 * The same input always gives the same bytes, and merging the result again changes nothing.
 *
 * Throws a UserError when the connection has no [ipv4]/[ipv6] section for a family that has
 * planned routes (adding one would change how NM configures that family), when that family is
 * disabled in the connection, or when the file is ambiguous (a section or key given twice).
 */
export function mergeKeyfileRoutes(
  existing: string,
  routes: PlannedRoute[],
  cluster: AddressRange[],
  toRange: (cidr: string) => AddressRange | null,
): string {
  const { lines, eol } = splitLines(existing);
  const sections = parseSections(lines);

  const planned = new Map<Family, Array<PlannedRoute & { range: AddressRange }>>([
    [4, []],
    [6, []],
  ]);
  for (const r of routes) {
    const range = toRange(r.to);
    if (!range || range.family !== r.family || !isAddress(r.via, r.family)) throw new Error(`bug: planned route ${r.to} via ${r.via} is not an IPv${r.family} route`);
    // A planned route outside the pod subnets would not be recognised as routegen's next time.
    if (!inside(range, cluster)) throw new Error(`bug: planned route ${r.to} is not inside the cluster's pod subnets`);
    const list = planned.get(r.family) as Array<PlannedRoute & { range: AddressRange }>;
    if (!list.some((p) => p.to === r.to && p.via === r.via && p.metric === r.metric)) list.push({ ...r, range });
  }

  const rewrite = new Map<number, string[]>();
  const drop = new Set<number>();
  for (const family of [4, 6] as const) {
    const want = (planned.get(family) ?? []).sort((a, b) => (a.range.start < b.range.start ? -1 : a.range.start > b.range.start ? 1 : a.range.end < b.range.end ? -1 : a.range.end > b.range.end ? 1 : a.via < b.via ? -1 : a.via > b.via ? 1 : 0));
    const s = sections.get(SECTIONS[family]);
    if (!s) {
      if (want.length === 0) continue;
      throw new UserError(`the connection has no [${SECTIONS[family]}] section, but ${want.length} IPv${family} pod route${want.length === 1 ? '' : 's'} are planned for it`, {
        hint: `adding [${SECTIONS[family]}] would change how NetworkManager configures IPv${family} on this interface; configure IPv${family} in the connection first (e.g. \`nmcli connection modify <name> ${SECTIONS[family]}.method manual ${SECTIONS[family]}.addresses ...\`)`,
      });
    }
    if (want.length > 0 && (s.method === 'disabled' || s.method === 'ignore')) {
      throw new UserError(`the connection has ${SECTIONS[family]}.method=${s.method}: NetworkManager would not configure its IPv${family} pod routes`, {
        hint: `enable IPv${family} in the connection, or leave IPv${family} pod subnets out of the inventory for this host`,
      });
    }
    const kept = s.routes.filter((r) => {
      const v = parseRouteValue(r.value, family);
      if (!v) return true; // NM ignores it; not routegen's either
      const net = networkOf(v.to, family);
      const range = net === null ? null : toRange(net);
      return !(range && range.family === family && inside(range, cluster));
    });
    const block: string[] = [];
    let n = 0;
    for (const r of kept) {
      n++;
      const line = lines[r.line] as Line;
      block.push(`${line.lead ?? ''}route${n}${line.rest ?? ''}`);
      const opt = s.options.get(r.key);
      if (opt !== undefined) {
        const o = lines[opt] as Line;
        block.push(`${o.lead ?? ''}route${n}_options${o.rest ?? ''}`);
      }
    }
    for (const r of want) {
      n++;
      block.push(`route${n}=${r.to},${r.via}${r.metric === undefined ? '' : `,${r.metric}`}`);
    }
    // The new block goes where the first route line was; else after the section's last line.
    for (const i of s.routeLines) drop.add(i);
    let at = s.routeLines.length > 0 ? Math.min(...s.routeLines) : s.header;
    if (s.routeLines.length === 0) {
      for (let i = s.end - 1; i > s.header; i--) {
        if ((lines[i] as Line).text.trim() !== '') {
          at = i;
          break;
        }
      }
      rewrite.set(at, [(lines[at] as Line).text, ...block]);
    } else {
      rewrite.set(at, block);
    }
  }

  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const r = rewrite.get(i);
    if (r) out.push(...r);
    else if (!drop.has(i)) out.push((lines[i] as Line).text);
  }
  return out.join(eol);
}
