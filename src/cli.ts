import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { formatUserError, UserError } from './errors.js';
import { processIo, type CommonArgs, type Io } from './commands/common.js';
import { planCommand } from './commands/plan.js';
import { renderCommand, type RenderArgs } from './commands/render.js';
import { STACK_NAMES } from './types.js';

/** Exit codes, documented in the README. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

function common(y: Argv) {
  return y
    .option('inventory', { alias: 'i', type: 'string', default: './machines.txt', describe: 'machines.txt: IP FQDN HOSTNAME [POD_SUBNET] per line', group: 'Inputs:' })
    .option('config', { alias: 'c', type: 'string', describe: 'routegen.yaml with defaults and per-host settings [default: ./routegen.yaml if present]', group: 'Inputs:' })
    .option('hosts', { type: 'string', describe: 'only these hosts (comma-separated hostnames)', group: 'Inputs:', coerce: (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean) })
    .option('json', { type: 'boolean', describe: 'machine-readable output on stdout', group: 'Output:' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print only problems and the summary', group: 'Output:' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'print more detail', group: 'Output:' });
}

function stackOptions(y: Argv) {
  return y
    .option('stack', { type: 'string', choices: STACK_NAMES as unknown as string[], describe: 'network stack of every host (overrides routegen.yaml)', group: 'Stack:' })
    .option('interface', { type: 'string', describe: 'interface the node network is on, e.g. eth1', group: 'Stack:' })
    .option('networkd-file', { type: 'string', describe: 'networkd: the .network file managing the interface [default: 10-IFACE.network]', group: 'Stack:' })
    .option('metric', { type: 'number', describe: 'route metric', group: 'Stack:' });
}

/**
 * Runs routegen with the given arguments and returns its exit code. User errors print without
 * a stack trace and give 2; anything else is a bug and prints its stack.
 */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let code: number = EXIT.ok;
  const run = (fn: () => number | Promise<number>) => async () => {
    code = await fn();
  };
  const parser = yargs(argv)
    .scriptName('routegen')
    .usage('$0 <command> [options]\n\nPersistent pod network routes for Kubernetes the Hard Way.')
    .command(
      'plan',
      'print the routes every host needs (validates the inventory; touches no host)',
      (y) => stackOptions(common(y)).example('$0 plan -i machines.txt', 'the table').example('$0 plan --json', 'the same as JSON'),
      (a) => run(() => planCommand(a as unknown as CommonArgs, io))(),
    )
    .command(
      'render',
      "write every host's network configuration under DIR/<host>/ (touches no host)",
      (y) =>
        stackOptions(common(y))
          .option('out', { alias: 'o', type: 'string', demandOption: 'give the output directory with --out DIR', describe: 'output directory' })
          .option('check', { type: 'boolean', describe: 'write nothing; exit 1 and list differences if DIR is not what render would write' })
          .example('$0 render --stack networkd --interface eth1 --out routes', '')
          .example('$0 render --out routes --check', 'in CI, guard the reviewed tree'),
      (a) => run(() => renderCommand(a as unknown as RenderArgs, io))(),
    )
    .demandCommand(1, 'Name a command: plan or render. See routegen --help.')
    .strict()
    .recommendCommands()
    .version(pkg.version)
    .alias('h', 'help')
    .alias('V', 'version')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .epilogue('Exit codes: 0 all good; 1 a host failed, drifted, or (render --check) differs; 2 bad input or usage.\nDocs: README.md')
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(msg ?? 'invalid usage', { kind: 'usage', hint: 'see routegen --help, or routegen <command> --help' });
    });

  try {
    let help = '';
    await parser.parseAsync(argv, {}, (_err, _argv, output) => {
      help = output;
    });
    if (help) io.out(help);
    return code;
  } catch (e) {
    if (e instanceof UserError) {
      io.err(formatUserError(e));
      return EXIT.usage;
    }
    io.err(`routegen: internal error (a bug; please report it with the command you ran):\n${(e as Error)?.stack ?? String(e)}`);
    return 70;
  }
}
