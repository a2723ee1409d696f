import { ProblemList } from '../errors.js';
import { describeChar } from './describe.js';
import { isIpProblem, parseHostAddress, parseNetwork } from '../ip.js';
import type { Inventory, IpValue, Machine, Span } from '../types.js';
import { basename } from 'node:path';

/** A single RFC 1123 label in lower case: what Kubernetes accepts as a node name part. */
export const HOSTNAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** One label of a DNS name (any case). */
export const FQDN_LABEL_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

const FORMAT = 'IP FQDN HOSTNAME [POD_SUBNET]';

interface Token {
  text: string;
  column: number;
}

function tokenize(line: string): Token[] {
  const out: Token[] = [];
  const re = /[^ \t]+/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push({ text: m[0], column: m.index + 1 });
  return out;
}

function checkFqdn(text: string): string | null {
  if (text.length > 253) return `FQDN "${text.slice(0, 40)}..." is longer than 253 characters`;
  const bad = [...text].find((c) => !/[A-Za-z0-9.-]/.test(c));
  if (bad !== undefined) return `FQDN "${text}" contains ${describeChar(bad)}`;
  if (!text.split('.').every((l) => FQDN_LABEL_RE.test(l))) {
    return `FQDN "${text}" is not a valid DNS name (labels of 1 to 63 letters, digits and inner hyphens, separated by dots)`;
  }
  return null;
}

function checkHostname(text: string): { message: string; hint?: string } | null {
  const bad = [...text].find((c) => !/[A-Za-z0-9-]/.test(c));
  if (bad !== undefined) {
    return {
      message: `hostname "${text}" contains ${describeChar(bad)}`,
      hint: bad === '.' ? 'the third column is the short host name (e.g. node-0); the FQDN goes in the second' : 'a hostname is letters, digits and hyphens',
    };
  }
  if (/[A-Z]/.test(text) && HOSTNAME_RE.test(text.toLowerCase())) {
    return { message: `hostname "${text}" has upper-case letters`, hint: `Kubernetes node names are lower case: write ${text.toLowerCase()}` };
  }
  if (!HOSTNAME_RE.test(text)) {
    return { message: `hostname "${text}" is not a valid RFC 1123 label`, hint: '1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen' };
  }
  return null;
}

/** Splits a comma list, keeping each item's span. Empty items are reported. */
function splitList(tok: Token): Array<{ text: string; span: Span }> {
  const items: Array<{ text: string; span: Span }> = [];
  let offset = 0;
  for (const part of tok.text.split(',')) {
    items.push({ text: part, span: { column: tok.column + offset, length: Math.max(1, part.length) } });
    offset += part.length + 1;
  }
  return items;
}

/**
 * Parses machines.txt as Kubernetes the Hard Way writes it: `IP FQDN HOSTNAME [POD_SUBNET]`,
 * whitespace separated, `#` comments and blank lines allowed, CRLF tolerated. The IP and
 * subnet columns may hold comma lists (one entry per address family) for dual-stack clusters.
 * Every problem in the file is collected; throws a UserError holding all of them.
 */
export function parseInventory(text: string, file: string): Inventory {
  const problems = new ProblemList();
  const machines: Machine[] = [];
  // A byte order mark (Windows editors write one) is not part of the first field.
  const lines = (text.startsWith('\ufeff') ? text.slice(1) : text).split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();

  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const source = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const hash = source.indexOf('#');
    const content = hash >= 0 ? source.slice(0, hash) : source;
    const tokens = tokenize(content);
    if (tokens.length === 0) return;
    const report = (span: Span, message: string, hint?: string) =>
      problems.add({ file, line: lineNo, column: span.column, length: span.length, source, message, hint });
    const spanOf = (t: Token): Span => ({ column: t.column, length: t.text.length });

    const huge = tokens.find((t) => t.text.length > 255);
    if (huge) {
      report({ column: huge.column, length: 1 }, `field of ${huge.text.length} characters is too long`, `no field of machines.txt is longer than 253 characters (${FORMAT})`);
      return;
    }
    if (tokens.length > 4) {
      const extra = tokens[4]!;
      const last = tokens[tokens.length - 1]!;
      report(
        { column: extra.column, length: last.column + last.text.length - extra.column },
        `unexpected ${tokens.length - 4 === 1 ? 'field' : 'fields'} after the pod subnet: "${tokens.slice(4).map((t) => t.text).join(' ')}"`,
        `a line has 3 or 4 fields: ${FORMAT}; start a comment with #`,
      );
    }
    if (tokens.length < 3) {
      const missing = tokens.length === 1 ? 'FQDN and HOSTNAME' : 'HOSTNAME';
      report({ column: content.trimEnd().length + 1, length: 1 }, `missing ${missing}: found ${tokens.length} field${tokens.length === 1 ? '' : 's'}, expected 3 or 4 (${FORMAT})`);
      return;
    }
    const [ipTok, fqdnTok, hostTok, subnetTok] = tokens as [Token, Token, Token, Token | undefined];
    let ok = tokens.length <= 4;

    const addresses: IpValue[] = [];
    for (const item of splitList(ipTok)) {
      if (item.text === '') {
        report(item.span, `empty entry in the address list "${ipTok.text}"`, 'separate addresses with single commas');
        ok = false;
        continue;
      }
      const a = parseHostAddress(item.text, item.span);
      if (isIpProblem(a)) {
        const looksSwapped = !/[0-9a-fA-F:.]/.test(item.text[0] ?? '') || /^[a-z][a-z0-9-]*$/i.test(item.text);
        report(item.span, a.message, a.hint ?? (looksSwapped ? `the first column is the machine's IP address (${FORMAT})` : undefined));
        ok = false;
      } else if (addresses.some((x) => x.family === a.family)) {
        report(item.span, `more than one IPv${a.family} address for this machine`, 'give at most one IPv4 and one IPv6 address');
        ok = false;
      } else addresses.push(a);
    }

    const fqdnProblem = checkFqdn(fqdnTok.text);
    if (fqdnProblem) {
      report(spanOf(fqdnTok), fqdnProblem);
      ok = false;
    }
    const hostProblem = checkHostname(hostTok.text);
    if (hostProblem) {
      report(spanOf(hostTok), hostProblem.message, hostProblem.hint);
      ok = false;
    }

    const podSubnets: IpValue[] = [];
    if (subnetTok) {
      for (const item of splitList(subnetTok)) {
        if (item.text === '') {
          report(item.span, `empty entry in the pod subnet list "${subnetTok.text}"`, 'separate subnets with single commas');
          ok = false;
          continue;
        }
        const n = parseNetwork(item.text, item.span);
        if (isIpProblem(n)) {
          report(item.span, n.message, n.hint);
          ok = false;
        } else if (podSubnets.some((x) => x.family === n.family)) {
          report(item.span, `more than one IPv${n.family} pod subnet for this machine`, 'give at most one pod subnet per address family');
          ok = false;
        } else podSubnets.push(n);
      }
    }

    if (!ok) return;
    machines.push({
      addresses,
      fqdn: fqdnTok.text,
      hostname: hostTok.text,
      podSubnets,
      line: lineNo,
      source,
      spans: { ip: spanOf(ipTok), fqdn: spanOf(fqdnTok), hostname: spanOf(hostTok), subnet: subnetTok ? spanOf(subnetTok) : undefined },
    });
  });

  problems.throwIfAny(`${file} is not a valid inventory`);
  if (machines.length === 0) {
    problems.add({ file, line: 1, column: 1, length: 1, source: (lines[0] ?? '').replace(/\r$/, ''), message: 'no machines found', hint: `add one line per machine: ${FORMAT}` });
    problems.throwIfAny(`${file} is not a valid inventory`);
  }
  return { file, name: basename(file), machines };
}
