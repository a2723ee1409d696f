/**
 * The `routegen` command line: parses the arguments (the fast path for plain plan and render,
 * yargs for everything else, both from the declarations in options.ts), runs the command and
 * turns what it threw into an exit code.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Argv } from 'yargs';
import { formatUserError, UserError } from './errors.js';
import { catchInterruptsFor, releaseInterrupts } from './interrupt.js';
import { processIo, type Io } from './commands/common.js';
import { planCommand } from './commands/plan.js';
import { renderCommand } from './commands/render.js';
import { completeHostsCommand, completionCommand } from './commands/completion.js';
import { schemaCommand } from './commands/schema.js';
import { HOSTS_COMMAND } from './completion.js';
import { COMMAND_NAMES, COMMANDS, integerBounds, optionsOf, readArgs, SHELLS, type ArgsOf, type CommandName } from './options.js';

/** Exit codes, documented in the README. */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** Declares `command`'s options and examples to yargs, from the tables in options.ts. */
function declare(y: Argv, command: CommandName): Argv {
  for (const [name, d] of optionsOf(command)) {
    const describe = d.describeFor?.[command] ?? d.describe;
    y.option(name, {
      // integers are left untyped, so yargs hands readArgs their text as the fast path does
      ...(d.type === 'integer' ? { describe: `${describe} (${integerBounds(d)})`, requiresArg: true } : { type: d.type, describe }),
      ...(d.alias !== undefined && { alias: d.alias }),
      ...(d.group !== undefined && { group: d.group }),
      ...(d.type !== 'boolean' && d.default !== undefined && { default: d.default }),
      ...(d.type === 'string' && d.choices !== undefined && { choices: [...d.choices] }),
      ...(d.type === 'string' && d.demand !== undefined && { demandOption: d.demand }),
    });
  }
  for (const [cmd, text] of COMMANDS.find((c) => c.name === command)?.examples ?? []) y.example(cmd, text);
  return y;
}

/** A command of the fast path with its checked options. */
export type QuickRun = { command: 'plan'; args: ArgsOf<'plan'> } | { command: 'render'; args: ArgsOf<'render'> };

/**
 * `plan` and `render` with nothing unusual, parsed without yargs: loading and setting up yargs is
 * ~100 ms, half of routegen's startup. Anything else — help, --version, the remote commands, and
 * every command line yargs would reject or read differently — returns null and goes to yargs,
 * which owns usage and its messages. Values are checked by readArgs, as on the yargs path.
 */
export function quickArgs(argv: string[]): QuickRun | null {
  const [command, ...rest] = argv;
  if (command !== 'plan' && command !== 'render') return null;
  const declared = optionsOf(command);
  const options = Object.fromEntries(declared.map(([name, d]) => [name, { type: d.type === 'boolean' ? ('boolean' as const) : ('string' as const), ...(d.alias !== undefined && { short: d.alias }) }]));
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: false, tokens: true });
  } catch {
    return null;
  }
  const names = (parsed.tokens ?? []).flatMap((t) => (t.kind === 'option' ? [t.name] : []));
  if (new Set(names).size !== names.length) return null; // repeated: yargs makes an array
  const v: Record<string, unknown> = parsed.values;
  if (Object.values(v).some((x) => x === '')) return null;
  for (const [name, d] of declared) {
    if (d.type !== 'string') continue;
    if (d.demand !== undefined && v[name] === undefined) return null;
    if (d.choices !== undefined && v[name] !== undefined && !d.choices.includes(v[name] as string)) return null;
  }
  return command === 'plan' ? { command, args: readArgs('plan', v) } : { command, args: readArgs('render', v) };
}

/** Runs `command` with yargs' argv, read and checked by readArgs. The remote commands load ssh2
 * & co. (~70 ms) only when they run: plan and render never need them. */
async function runCommand(command: CommandName, argv: Record<string, unknown>, io: Io): Promise<number> {
  switch (command) {
    case 'plan':
      return planCommand(readArgs(command, argv), io);
    case 'render':
      return renderCommand(readArgs(command, argv), io);
    case 'push':
      return (await import('./commands/push.js')).pushCommand(readArgs(command, argv), io, 'push');
    case 'diff':
      return (await import('./commands/push.js')).pushCommand(readArgs(command, argv), io, 'diff');
    case 'status':
      return (await import('./commands/status.js')).statusCommand(readArgs(command, argv), io);
    case 'rollback':
      return (await import('./commands/status.js')).rollbackCommand(readArgs(command, argv), io);
    case 'remove':
      return (await import('./commands/remove.js')).removeCommand(readArgs(command, argv), io);
    case 'discover':
      return (await import('./commands/discover.js')).discoverCommand(readArgs(command, argv), io);
  }
}

function reportError(e: unknown, io: Io): number {
  if (e instanceof UserError) {
    io.err(formatUserError(e));
    return EXIT.usage;
  }
  io.err(`routegen: internal error (a bug; please report it with the command you ran):\n${(e as Error)?.stack ?? String(e)}`);
  return 70;
}

/**
 * Runs routegen with the given arguments and returns its exit code. User errors print without
 * a stack trace and give 2; anything else is a bug and prints its stack.
 */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  catchInterruptsFor(argv[0]); // (bin/routegen.js did already, before loading this module)
  try {
    return await dispatch(argv, io);
  } finally {
    releaseInterrupts();
  }
}

async function dispatch(argv: string[], io: Io): Promise<number> {
  try {
    const quick = quickArgs(argv);
    if (quick) return quick.command === 'render' ? renderCommand(quick.args, io) : planCommand(quick.args, io);
  } catch (e) {
    return reportError(e, io);
  }
  if (argv[0] === HOSTS_COMMAND) return completeHostsCommand(argv.slice(1), io);
  const { default: yargs } = await import('yargs');
  let code: number = EXIT.ok;
  const run = (fn: () => number | Promise<number>) => async () => {
    code = await fn();
  };
  let parser = yargs(argv)
    .scriptName('routegen')
    .parserConfiguration({ 'parse-numbers': false })
    .usage('$0 <command> [options]\n\nPersistent pod network routes for Kubernetes the Hard Way.');
  for (const c of COMMANDS) {
    const name = c.name;
    parser =
      name === 'schema'
        ? parser.command(
            name,
            c.describe,
            (y) => {
              for (const [cmd, text] of c.examples) y.example(cmd, text);
              return y;
            },
            () => run(() => schemaCommand(io))(),
          )
        : name === 'completion'
        ? parser.command(
            'completion [shell]',
            c.describe,
            (y) => {
              y.positional('shell', { choices: SHELLS, default: 'bash', describe: 'the shell to complete in' });
              for (const [cmd, text] of c.examples) y.example(cmd, text);
              return y;
            },
            (a) => run(() => completionCommand(a.shell === 'zsh' ? 'zsh' : 'bash', io))(),
          )
        : parser.command(
            name,
            c.describe,
            (y) => declare(y, name),
            (a) => run(() => runCommand(name, a, io))(),
          );
  }
  parser = parser
    .demandCommand(1, `Name a command: ${[...COMMAND_NAMES, 'completion'].join(', ')} or schema. See routegen --help.`)
    .strict()
    .recommendCommands()
    .version(pkg.version)
    .alias('h', 'help')
    .alias('V', 'version')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .epilogue('Exit codes: 0 all good; 1 a host failed, drifted, or (render --check) differs; 2 bad input or usage.\nDocs: README.md')
    .exitProcess(false)
    .fail((msg, err) => {
      if (err && err.name !== 'YError') throw err; // yargs' own usage errors are YErrors
      throw new UserError(msg ?? err?.message ?? 'invalid usage', { kind: 'usage', hint: 'see routegen --help, or routegen <command> --help' });
    });

  try {
    let help = '';
    await parser.parseAsync(argv, {}, (_err, _argv, output) => {
      help = output;
    });
    if (help) io.out(help);
    return code;
  } catch (e) {
    return reportError(e, io);
  }
}
