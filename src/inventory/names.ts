/**
 * The name rules of both inventories (machines.txt and `kubectl get nodes -o json`): hostnames
 * are RFC 1123 labels in lower case, as Kubernetes names nodes; FQDNs are DNS names; and the
 * words a broken name is reported in.
 */
import { describeChar, short } from './describe.js';

/** A single RFC 1123 label in lower case: what Kubernetes accepts as a node name part. */
export const HOSTNAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** One label of a DNS name (any case). */
const FQDN_LABEL_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** The longest DNS name. */
const MAX_DNS_NAME = 253;

const LABEL_HINT = '1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen';

/** Why a name is not usable, and what would be. */
export interface NameProblem {
  message: string;
  hint?: string;
}

/** A DNS name: at most 253 characters, labels of 1 to 63 letters, digits and inner hyphens. */
export function isDnsName(s: string): boolean {
  return s.length <= MAX_DNS_NAME && s.split('.').every((l) => FQDN_LABEL_RE.test(l));
}

/** The first character of `text` that `allowed` does not match, described; undefined if none. */
function badChar(text: string, allowed: RegExp): string | undefined {
  const bad = [...text].find((c) => !allowed.test(c));
  return bad === undefined ? undefined : describeChar(bad);
}

/** A machines.txt FQDN column. */
export function checkFqdn(text: string): NameProblem | null {
  if (text.length > MAX_DNS_NAME) return { message: `FQDN "${text.slice(0, 40)}..." is longer than ${MAX_DNS_NAME} characters` };
  const bad = badChar(text, /[A-Za-z0-9.-]/);
  if (bad !== undefined) return { message: `FQDN "${text}" contains ${bad}` };
  if (!isDnsName(text)) return { message: `FQDN "${text}" is not a valid DNS name (labels of 1 to 63 letters, digits and inner hyphens, separated by dots)` };
  return null;
}

/** Upper case where a lower-case name was meant. */
function upperCase(what: string, shown: string, name: string): NameProblem {
  return { message: `${what} "${shown}" has upper-case letters`, hint: `Kubernetes node names are lower case: write ${name.toLowerCase()}` };
}

/** A machines.txt HOSTNAME column. */
export function checkHostname(text: string): NameProblem | null {
  const bad = [...text].find((c) => !/[A-Za-z0-9-]/.test(c));
  if (bad !== undefined) {
    return {
      message: `hostname "${text}" contains ${describeChar(bad)}`,
      hint: bad === '.' ? 'the third column is the short host name (e.g. node-0); the FQDN goes in the second' : 'a hostname is letters, digits and hyphens',
    };
  }
  if (/[A-Z]/.test(text) && HOSTNAME_RE.test(text.toLowerCase())) return upperCase('hostname', text, text);
  if (!HOSTNAME_RE.test(text)) return { message: `hostname "${text}" is not a valid RFC 1123 label`, hint: LABEL_HINT };
  return null;
}

/** A Node's metadata.name, in the terms of machines.txt's hostname check. */
export function checkNodeName(name: string): NameProblem | null {
  const shown = short(name);
  if (name === '') return { message: 'node name is empty' };
  if (name.length > MAX_DNS_NAME) return { message: `node name "${shown}" is longer than ${MAX_DNS_NAME} characters` };
  const bad = badChar(name, /[A-Za-z0-9.-]/);
  if (bad !== undefined) return { message: `node name "${shown}" contains ${bad}`, hint: 'a node name is lower-case letters, digits, "-" and "."' };
  const labels = name.split('.');
  if (/[A-Z]/.test(name) && labels.every((l) => HOSTNAME_RE.test(l.toLowerCase()))) return upperCase('node name', shown, name);
  if (labels.length === 1 && !HOSTNAME_RE.test(name)) return { message: `node name "${shown}" is not a valid RFC 1123 label`, hint: LABEL_HINT };
  if (!labels.every((l) => HOSTNAME_RE.test(l))) {
    return { message: `node name "${shown}" is not a valid DNS name`, hint: 'labels of 1 to 63 lower-case letters, digits and inner hyphens, separated by dots' };
  }
  return null;
}
