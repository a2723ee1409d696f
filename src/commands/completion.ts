/** `routegen completion` and the host names its scripts ask for (`routegen __complete-hosts`). */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bashScript, zshScript, type CompletionCommand, type ValueKind } from '../completion.js';
import { parseInventoryText, type InventoryFormat } from '../inventory/kubectl.js';
import { COMMANDS, optionsOf, SHELLS, type OptionDecl } from '../options.js';
import type { Io } from './common.js';

function valueKind(d: OptionDecl): ValueKind {
  if (d.type === 'boolean') return { kind: 'none' };
  if (d.type === 'string' && d.choices) return { kind: 'choices', choices: [...d.choices] };
  return { kind: d.type === 'string' ? (d.completes ?? 'text') : 'text' };
}

/** Every command with its options, from the same declarations yargs parses with, so completion
 * cannot disagree with the CLI. */
function completionCommands(): CompletionCommand[] {
  return COMMANDS.map(({ name, describe }) => {
    if (name === 'completion') return { name, describe, options: [], positional: [...SHELLS] };
    if (name === 'schema') return { name, describe, options: [] };
    const options = optionsOf(name).map(([option, d]) => ({
      names: [`--${option}`, ...(d.alias === undefined ? [] : [d.alias.length === 1 ? `-${d.alias}` : `--${d.alias}`])],
      describe: d.describeFor?.[name] ?? d.describe,
      value: valueKind(d),
    }));
    return { name, describe, options };
  });
}

/** `routegen completion [bash|zsh]`: prints the script. */
export function completionCommand(shell: (typeof SHELLS)[number], io: Io): number {
  const commands = completionCommands();
  io.out(shell === 'zsh' ? zshScript(commands) : bashScript(commands));
  return 0;
}

/** `routegen __complete-hosts [-i FILE] [--inventory-format F]`: the inventory's host names, one
 * a line, for the completion scripts. Prints nothing (exit 1) when the inventory cannot be read:
 * a TAB must never print an error into the user's command line. */
export function completeHostsCommand(argv: string[], io: Io): number {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { inventory: { type: 'string', short: 'i' }, 'inventory-format': { type: 'string' } },
      strict: false,
    });
    const file = typeof values.inventory === 'string' ? values.inventory : './machines.txt';
    const format = (typeof values['inventory-format'] === 'string' ? values['inventory-format'] : 'auto') as InventoryFormat | 'auto';
    const inv = parseInventoryText(readFileSync(file, 'utf8'), file, format);
    io.out(inv.machines.map((m) => m.hostname).join('\n'));
    return 0;
  } catch {
    return 1;
  }
}
