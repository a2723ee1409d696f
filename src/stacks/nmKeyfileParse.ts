/**
 * Reads a NetworkManager keyfile's text as NM 1.42 does (nm-settings-keyfile(5)): its lines, its
 * [ipv4] and [ipv6] sections with their route keys, and each route value. Pure: no I/O.
 *
 * - in [ipv4] / [ipv6], keys `route`, `routeN`, `routes`, `routesN` (N without leading zeros);
 *   `route` first, then by N, `routeN` before `routesN`; NM renumbers them densely on save;
 * - value `dest/prefix,gateway,metric` (see parseRouteValue for the legacy forms NM accepts);
 *   a value NM cannot read is dropped silently (no error from nmcli); host bits are kept;
 * - `<key>_options=` belongs to the route key it names (`route2_options`, `routes1_options`).
 */
import { UserError } from '../errors.js';
import { addressText, isIpProblem, parseAddress } from '../ip.js';
import { ROUTE_METRIC_MAX, type Family } from '../types.js';

export const SECTIONS: Record<Family, string> = { 4: 'ipv4', 6: 'ipv6' };
const ROUTE_KEY = /^(routes?)(0|[1-9]\d*)?(_options)?$/;

export interface Line {
  /** The line without its end-of-line. */
  text: string;
  /** `key` and the start of what follows it, for `key=value` lines. */
  key?: string;
  lead?: string;
  rest?: string;
  value?: string;
}

export interface RouteEntry {
  line: number;
  key: string;
  base: 'route' | 'routes';
  /** -1 for `route` / `routes` without a number. */
  index: number;
  value: string;
}

export interface Section {
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

export function splitLines(text: string): { lines: Line[]; eol: string } {
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

export function parseSections(lines: Line[]): Map<string, Section> {
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

/** The address in canonical text when `text` is one of `family`; else null. */
export function addressOf(text: string, family: Family): string | null {
  const a = parseAddress(text);
  return isIpProblem(a) || a.family !== family ? null : a.canonical;
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
export function parseRouteValue(value: string, family: Family): { to: string; via: string; metric?: number } | null {
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
  let metric: number | undefined;
  if (metricField.field !== null) {
    const m = uint(metricField.field, ROUTE_METRIC_MAX);
    if (m === null) return null;
    metric = m;
  }
  const gateway = gw.field ?? '';
  let via = gateway === '' ? '' : addressOf(gateway, family);
  if (via === null) {
    const asMetric = family === 6 && metric === undefined ? uint(gateway, ROUTE_METRIC_MAX) : null;
    if (asMetric === null) return null;
    metric = asMetric;
    via = '';
  }
  const to = addressOf(dest.field, family);
  if (to === null) return null;
  const unspecified = via === '0.0.0.0' || via === '::';
  return { to: `${to}/${prefix}`, via: unspecified ? '' : via, ...(metric !== undefined ? { metric } : {}) };
}

/** The network a destination names, host bits cleared (NM clears them before the kernel). */
export function networkOf(to: string): string | null {
  const [addr = '', plen = ''] = to.split('/');
  const a = parseAddress(addr);
  if (isIpProblem(a)) return null;
  const hostBits = BigInt((a.family === 4 ? 32 : 128) - Number(plen));
  return `${addressText(a.family, (a.value >> hostBits) << hostBits)}/${plen}`;
}
