/** What every command shares: its inputs (inventory and routegen.yaml, read into a plan) and where it writes (Io). */
import { existsSync, readFileSync } from 'node:fs';
import { UserError } from '../errors.js';
import { checkFlags, EMPTY_CONFIG, loadConfig, type Config } from '../inventory/config.js';
import { openInventoryFile, type InputFile } from '../inventory/inputFile.js';
import { parseInventoryText } from '../inventory/kubectl.js';
import type { ArgsOf } from '../options.js';
import { planRoutes, selectHosts, type PlannedHost, type RoutePlan } from '../plan.js';
import { colors, useColor, type Colors } from '../report.js';

/** What loadInputs reads: the inputs every command takes, and the stack overrides (discover has none). */
export type CommonArgs = Omit<ArgsOf<'plan'>, 'format'>;

/** Where a command writes: injectable so tests can run commands in memory. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  c: Colors;
  /** Colours for stderr (progress, warnings). */
  ce: Colors;
  isTTY: boolean;
}

export function processIo(): Io {
  return {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
    c: colors(useColor(process.stdout)),
    ce: colors(useColor(process.stderr)),
    isTTY: Boolean(process.stderr.isTTY),
  };
}

/** A local input file's text, or a UserError saying why it cannot be read. */
export function readInput(path: string, what: string, hint: string): string {
  // Not readFileSync(path, 'utf8'): on Node 20 that path costs ~0.7 s more CPU for a 100 MB
  // `kubectl get nodes -o json` than decoding the bytes (BENCHMARKS.md, "kubectl").
  return readInputBytes(path, what, hint).toString('utf8');
}

/** A local input file's bytes, or a UserError saying why it cannot be read. */
export function readInputBytes(path: string, what: string, hint: string): Buffer {
  return readOrSay(() => readFileSync(path), path, what, hint);
}

/** An inventory file: its bytes, or a large one opened to be read as needed (a nodes.json is read
 * through a window, never decoded whole when valid: inputFile.ts); or a UserError saying why it
 * cannot be read. */
export function openInventory(path: string, what: string, hint: string): Buffer | InputFile {
  return readOrSay(() => openInventoryFile(path), path, what, hint);
}

function readOrSay<T>(read: () => T, path: string, what: string, hint: string): T {
  try {
    return read();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code})`;
    throw new UserError(`${what} ${path} ${why}`, { hint });
  }
}

/** Reads the inventory and routegen.yaml (the one given, or ./routegen.yaml when present). */
export function loadInputs(args: CommonArgs, opts: { configMayBeMissing?: boolean } = {}): { config: Config; plan: RoutePlan; hosts: PlannedHost[] } {
  const input = openInventory(args.inventory, 'inventory', 'give the machines.txt of your cluster with -i FILE (one line per machine: IP FQDN HOSTNAME [POD_SUBNET]), or the output of `kubectl get nodes -o json`');
  const inv = parseInventoryText(input, args.inventory, args['inventory-format'] ?? 'auto');
  let config = EMPTY_CONFIG;
  const configPath = args.config ?? (existsSync('routegen.yaml') ? 'routegen.yaml' : undefined);
  if (configPath && !(opts.configMayBeMissing && !existsSync(configPath))) config = loadConfig(readInput(configPath, 'config file', 'pass -c FILE, or leave it out to use no config'), configPath);
  const flags = checkFlags(args);
  const plan = planRoutes(inv, config, flags);
  return { config, plan, hosts: selectHosts(plan, args.hosts) };
}
