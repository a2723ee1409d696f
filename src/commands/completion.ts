import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Argv } from 'yargs';
import { bashScript, VALUE_KINDS, zshScript, type CompletionCommand, type CompletionOption, type ValueKind } from '../completion.js';
import { parseInventoryText, type InventoryFormat } from '../inventory/kubectl.js';
import type { Io } from './common.js';

/** The shells `routegen completion` writes scripts for. */
export const SHELLS = ['bash', 'zsh'] as const;

/** What yargs keeps about a command and its options (yargs 17's internals; the completion test
 * in test/completion.test.ts fails if they change). */
interface YargsInternals {
  getInternalMethods(): {
    getCommandInstance(): { getCommandHandlers(): Record<string, { description: string | false; builder: (y: Argv) => unknown; optional: Array<{ cmd: string[] }> }> };
    getUsageInstance(): { getDescriptions(): Record<string, string | undefined> };
  };
}

/** Every visible command of `parser` with its options, read from the same declarations yargs
 * parses with, so completion cannot disagree with the CLI. */
export function describeCommands(parser: Argv, fresh: () => Argv): CompletionCommand[] {
  const handlers = (parser as unknown as YargsInternals).getInternalMethods().getCommandInstance().getCommandHandlers();
  return Object.entries(handlers)
    .filter(([, h]) => h.description !== false)
    .map(([name, h]) => {
      const y = fresh();
      h.builder(y);
      const o = (y as unknown as { getOptions(): unknown }).getOptions() as {
        key: Record<string, boolean>;
        alias: Record<string, string[]>;
        boolean: string[];
        choices: Record<string, string[]>;
      };
      const descriptions = (y as unknown as YargsInternals).getInternalMethods().getUsageInstance().getDescriptions();
      const positionals = h.optional.flatMap((p) => p.cmd);
      const aliases = new Set(Object.values(o.alias).flat());
      const options: CompletionOption[] = Object.keys(o.key)
        .filter((k) => !aliases.has(k) && !positionals.includes(k) && k !== 'help' && k !== 'version')
        .map((k) => {
          const choices = o.choices[k];
          const value: ValueKind = o.boolean.includes(k) ? { kind: 'none' } : choices ? { kind: 'choices', choices } : { kind: VALUE_KINDS[k] ?? 'text' };
          const names = [`--${k}`, ...(o.alias[k] ?? []).map((a) => (a.length === 1 ? `-${a}` : `--${a}`))];
          return { names, describe: descriptions[k] ?? '', value };
        });
      const positional = positionals.flatMap((p) => o.choices[p] ?? []);
      return { name, describe: String(h.description), options, ...(positional.length ? { positional } : {}) };
    });
}

/** `routegen completion [bash|zsh]`: prints the script. */
export function completionCommand(shell: (typeof SHELLS)[number], commands: CompletionCommand[], io: Io): number {
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
