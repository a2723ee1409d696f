/** Reads machines.txt (IP FQDN HOSTNAME [POD_SUBNET] per line) into an Inventory, every problem with its line and column. */
import { ProblemList } from '../errors.js';
import { checkFqdn, checkHostname } from './names.js';
import { addPodSubnet, isIpProblem, parseHostAddress } from '../ip.js';
import type { Inventory, IpValue, Machine, Span } from '../types.js';
import { basename } from 'node:path';

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
      report(spanOf(fqdnTok), fqdnProblem.message, fqdnProblem.hint);
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
        const problem = addPodSubnet(podSubnets, item.text, item.span, 'this machine');
        if (problem) {
          report(item.span, problem.message, problem.hint);
          ok = false;
        }
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
