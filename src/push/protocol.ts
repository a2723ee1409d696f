/**
 * The contract between routegen and its helper on each host (templates/routegen-host.sh): where
 * it lives, its verbs and their arguments, its exit codes and the names of its state files.
 * Written once, here: the script is rendered from this table (its `{{…}}` placeholders), and
 * test/protocol.test.ts fails when the two disagree.
 */
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { TEMPLATE_DIR } from '../render.js';

/** Where routegen keeps its helper script and per-file state on a host (0700, root). */
export const STATE_DIR = '/var/lib/routegen';
export const HOST_SCRIPT = `${STATE_DIR}/routegen-host.sh`;

/** The helper's exit codes. */
export const EXIT = {
  ok: 0,
  /** Any other failure; the message is on stderr. */
  error: 1,
  /** The stack's apply command failed (the file is in place, or back in place). */
  applyFailed: 3,
  /** Nothing armed to claim: confirmed already, or rolled back already (by the host's timer). */
  nothingToClaim: 4,
  /** A previous push of this file still waits for its confirmation. */
  awaitingConfirm: 5,
} as const;

/** Suffixes of the state files `STATE_DIR/KEY.<suffix>` (KEY: stateKey of the target path). */
export const STATE = {
  /** The file as it was before the last push. */
  prev: 'prev',
  /** There was no file before the last push. */
  absent: 'absent',
  /** Armed: holds the time (epoch s) the rollback is due. */
  pending: 'pending',
  /** A rollback is putting the previous file back. */
  restoring: 'restoring',
  /** The file a rollback replaced. */
  failed: 'failed',
  /** The file as it was before routegen's first push to it (for `remove`). */
  orig: 'orig',
  /** PID of the armed rollback timer's sleep. */
  timer: 'timer',
  /** NetworkManager: the destinations routegen wrote into the host's keyfile. */
  owned: 'owned',
  /** Not per key: the state directory is on another filesystem than the targets (backups are
   * copies, not second names). */
  copies: '.copies',
} as const;

export const stateFile = (key: string, suffix: keyof typeof STATE) => `${STATE_DIR}/${key}.${STATE[suffix]}`;

/** Which address families a routing table is read for: only those the plan touches. */
export type Families = '4' | '6' | '46';

/**
 * The verbs, as argument lists. TARGET is the file's path; for NetworkManager it is the
 * connection's UUID, and the script finds the keyfile (its name may hold any character).
 */
export const verb = {
  /** Back up, arm the rollback timer, rename STAGED (or `-`: delete) into place, apply; prints the table. */
  commit: (a: { timeoutS: number; key: string; target: string; stack: string; iface: string; staged: string; families: Families }) =>
    ['commit', String(a.timeoutS), a.key, a.target, a.stack, a.iface, a.staged, a.families],
  /** Roll back now: claims the armed token, puts the previous file back, applies. */
  restore: (a: { key: string; target: string; stack: string; iface: string }) => ['restore', a.key, a.target, a.stack, a.iface],
  /** Disarm: the change stays. */
  confirm: (a: { key: string }) => ['confirm', a.key],
  /** `routegen rollback`: put back the file kept before the last push. */
  rollback: (a: { key: string; target: string; stack: string; iface: string }) => ['rollback', a.key, a.target, a.stack, a.iface],
  /** The file is right but the kernel is not: apply it again; prints the table. */
  reapply: (a: { stack: string; iface: string; target: string; families: Families }) => ['reapply', a.stack, a.iface, a.target, a.families],
  /** The kernel's main routing table (`@@ipv4` JSON `@@ipv6` JSON). */
  routes: (a: { families: Families }) => ['routes', a.families],
  /** The SSH peer as the host sees it (`@@ssh ADDR`), then the routing table. */
  facts: (a: { families: Families }) => ['facts', a.families],
  /** Reads one verb a line on stdin and answers each between markers (one process for a whole push). */
  serve: () => ['serve'],
} as const;

export type Verb = keyof typeof verb;

/** How `serve` ends each answer: on stdout `MARK CODE`, on stderr `MARK`, each on a line of its own. */
export const SERVE_MARK = '@@routegen-done';

const template = Handlebars.compile(readFileSync(`${TEMPLATE_DIR}routegen-host.sh`, 'utf8'), { noEscape: true, strict: true });

/** The helper script with this table's values in place; `stateDir`: elsewhere than on a host
 * (tests run the real script in a directory of their own). */
export function renderHostScript(stateDir = STATE_DIR): string {
  return template({ STATE_DIR: stateDir, EXIT, STATE, SERVE_MARK });
}

let script: string | undefined;
/** The helper script as uploaded. */
export function hostScriptText(): string {
  script ??= renderHostScript();
  return script;
}
