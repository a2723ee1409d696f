/** What a stack module is (StackModule) and what the modules share. */
import { SAFE_ARG } from '../remote/safeArg.js';
import type { HostSettings, StackName } from '../types.js';

/** What routegen knows about one network stack. Each stack is one module implementing this. */
export interface StackModule {
  name: StackName;
  /** File mode the stack needs: networkd must be able to read its files (0644), netplan
   * warns about anything readable by others (0600). */
  mode: number;
  /** Template in templates/, holding layout only ('' for a stack whose file is merged). */
  template: string;
  /** The file is the host's own, edited in place (NetworkManager): nothing to render offline. */
  merges?: boolean;
  /** The file's directory exists only to hold drop-ins (networkd's `<name>.network.d`):
   * `routegen remove` deletes it when routegen's file leaves it empty. */
  dropInDir?: boolean;
  /** Settings a host needs before its file can be rendered. */
  required: Array<'interface' | 'networkdFile'>;
  /** Absolute path of the one file routegen owns on the host. */
  path(settings: HostSettings): string;
  /** What the host script gets as TARGET when it is not the path (NetworkManager: the
   * connection's UUID; the script asks NetworkManager for the file, whose name may hold any
   * character and so is never sent as an argument). */
  hostTarget?(settings: HostSettings): string;
  /** File names this stack ignores in the file's directory: temporary and backup names must be
   * invisible to it (networkd reads `*.conf` in a drop-in directory, netplan `*.yaml`,
   * ifupdown's source-directory only names matching ^[a-zA-Z0-9_-]+$). */
  hiddenName(base: string, tag: string): string;
  /** What must be on a host before routegen writes there: each check passes when one of its
   * paths exists. Checked over SFTP, without starting a remote shell. */
  preflight(settings: HostSettings): PreflightCheck[];
  /** The routes in one of routegen's own files of this stack. */
  routes(content: string): FileRoute[];
}

export interface FileRoute {
  to: string;
  via: string;
  metric?: number;
}

export interface PreflightCheck {
  what: string;
  paths: string[];
  hint: string;
  /** When set, the first existing path must also match this (e.g. interfaces sources interfaces.d). */
  contains?: { pattern: RegExp; missing: string };
}

export const BIN_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** What plainName writes as `=XX` although the remote layer would take it: its own escape `=`,
 * the path separator `/`, and `%`, which joins plain names into one (push/hostFile.ts). */
const NOT_PLAIN = '=/%';

/**
 * `text` with every byte that is not a safe-argument character (remote/safeArg.ts), or is one of
 * NOT_PLAIN, written as `=XX` (its hex value): a name that passes the remote layer's argument
 * check and that no other text maps to. Plain names stay as they are.
 */
export function plainName(text: string): string {
  const plain = (ch: string) => SAFE_ARG.test(ch) && !NOT_PLAIN.includes(ch);
  return [...Buffer.from(text, 'utf8')].map((b) => (plain(String.fromCharCode(b)) ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}
