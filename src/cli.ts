import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Argv } from 'yargs';
import { formatUserError, UserError } from './errors.js';
import { catchInterruptsFor, releaseInterrupts } from './interrupt.js';
import { processIo, type Io } from './commands/common.js';
import { planCommand, PLAN_FORMATS, type PlanArgs } from './commands/plan.js';
import type { DiscoverArgs } from './commands/discover.js';
import type { PushArgs } from './commands/push.js';
import type { StatusArgs } from './commands/status.js';
import { renderCommand, type RenderArgs } from './commands/render.js';
import { schemaCommand } from './commands/schema.js';
import { completeHostsCommand, completionCommand, describeCommands, SHELLS } from './commands/completion.js';
import { HOSTS_COMMAND, type CompletionCommand } from './completion.js';
import { NETPLAN_SECTIONS, STACK_NAMES, type StackName } from './types.js';

/** Exit codes, documented in the README. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

function common(y: Argv) {
  return y
    .option('inventory', { alias: 'i', type: 'string', default: './machines.txt', describe: 'machines.txt (IP FQDN HOSTNAME [POD_SUBNET] per line), or `kubectl get nodes -o json` output', group: 'Inputs:' })
    .option('inventory-format', { type: 'string', choices: ['auto', 'machines', 'kubectl'], default: 'auto', describe: 'auto: JSON starting with { is kubectl output', group: 'Inputs:' })
    .option('config', { alias: 'c', type: 'string', describe: 'routegen.yaml with defaults and per-host settings [default: ./routegen.yaml if present]', group: 'Inputs:' })
    .option('hosts', { type: 'string', describe: 'only these hosts (comma-separated hostnames)', group: 'Inputs:', coerce: (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean) })
    .option('json', { type: 'boolean', describe: 'machine-readable output on stdout', group: 'Output:' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print only problems and the summary', group: 'Output:' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'print more detail', group: 'Output:' });
}

function stackOptions(y: Argv) {
  return y
    .option('stack', { type: 'string', choices: [...STACK_NAMES, 'auto'], describe: 'network stack of every host (overrides routegen.yaml); auto: ask each host (push, diff, status)', group: 'Stack:' })
    .option('interface', { type: 'string', describe: 'interface the node network is on, e.g. eth1', group: 'Stack:' })
    .option('networkd-file', { type: 'string', describe: 'networkd: the .network file managing the interface [default: asked from the host; render: 10-IFACE.network]', group: 'Stack:' })
    .option('netplan-section', { type: 'string', choices: [...NETPLAN_SECTIONS], describe: 'netplan: the section defining the interface [default: asked from the host; render: ethernets]', group: 'Stack:' })
    .option('metric', { type: 'number', describe: 'route metric', group: 'Stack:' });
}

function remoteOptions(y: Argv) {
  return y
    .option('parallel', { alias: 'p', type: 'number', default: 10, describe: 'hosts at a time', group: 'SSH:' })
    .option('ssh-config', { alias: 'F', type: 'string', describe: 'ssh_config file [default: ~/.ssh/config, as ssh does]', group: 'SSH:' })
    .option('jump', { alias: 'J', type: 'string', describe: 'reach every host through these jump hosts, as `ssh -J` ([user@]host[:port], comma-separated; none: directly) [default: ProxyJump from the ssh config]', group: 'SSH:' })
    .option('accept-new', { type: 'boolean', describe: 'trust and record host keys seen for the first time (never a changed key)', group: 'SSH:' })
    .option('connect-timeout', { type: 'number', default: 10, describe: 'seconds to connect and log in', group: 'SSH:' })
    .option('command-timeout', { type: 'number', default: 120, describe: 'seconds for one remote command', group: 'SSH:' });
}

/** The commands that change hosts (push, remove): how long to wait for the kernel and for the confirmation. */
function commitOptions(y: Argv) {
  return y
    .option('confirm-timeout', { type: 'number', default: 60, describe: 'seconds after which a host that was not confirmed rolls back by itself' })
    .option('verify-timeout', { type: 'number', default: 15, describe: 'seconds to wait for the kernel to match the change' });
}

/**
 * `plan` and `render` with nothing unusual, parsed without yargs: loading and setting up yargs is
 * ~100 ms, half of routegen's startup. Anything else — help, --version, the remote commands, and
 * every command line yargs would reject or read differently — returns null and goes to yargs,
 * which owns usage and its messages.
 */
export function quickArgs(argv: string[]): { command: 'plan' | 'render'; args: RenderArgs & PlanArgs } | null {
  const [command, ...rest] = argv;
  if (command !== 'plan' && command !== 'render') return null;
  const options = {
    inventory: { type: 'string', short: 'i' },
    'inventory-format': { type: 'string' },
    config: { type: 'string', short: 'c' },
    hosts: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
    verbose: { type: 'boolean', short: 'v' },
    stack: { type: 'string' },
    interface: { type: 'string' },
    'networkd-file': { type: 'string' },
    'netplan-section': { type: 'string' },
    metric: { type: 'string' },
    ...(command === 'render' ? ({ out: { type: 'string', short: 'o' }, check: { type: 'boolean' } } as const) : {}),
    ...(command === 'plan' ? ({ format: { type: 'string' } } as const) : {}),
  } as const;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: false, tokens: true });
  } catch {
    return null;
  }
  const names = (parsed.tokens ?? []).flatMap((t) => (t.kind === 'option' ? [t.name] : []));
  if (new Set(names).size !== names.length) return null; // repeated: yargs makes an array
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  if (Object.values(v).some((x) => x === '')) return null;
  if (command === 'render' && str('out') === undefined) return null;
  if (str('stack') !== undefined && !STACK_NAMES.includes(str('stack') as StackName) && str('stack') !== 'auto') return null;
  if (str('netplan-section') !== undefined && !(NETPLAN_SECTIONS as readonly string[]).includes(str('netplan-section')!)) return null;
  if (str('inventory-format') !== undefined && !['auto', 'machines', 'kubectl'].includes(str('inventory-format')!)) return null;
  if (str('metric') !== undefined && !/^(0|[1-9]\d{0,8})$/.test(str('metric')!)) return null;
  if (str('format') !== undefined && !(PLAN_FORMATS as readonly string[]).includes(str('format')!)) return null;
  return {
    command,
    args: {
      inventory: str('inventory') ?? './machines.txt',
      'inventory-format': (str('inventory-format') ?? 'auto') as RenderArgs['inventory-format'],
      config: str('config'),
      hosts: str('hosts')?.split(',').map((x) => x.trim()).filter(Boolean),
      json: v.json as boolean | undefined,
      quiet: v.quiet as boolean | undefined,
      verbose: v.verbose as boolean | undefined,
      stack: str('stack'),
      interface: str('interface'),
      'networkd-file': str('networkd-file'),
      'netplan-section': str('netplan-section'),
      metric: str('metric') === undefined ? undefined : Number(str('metric')),
      out: str('out') ?? '',
      check: v.check as boolean | undefined,
      format: str('format') as PlanArgs['format'],
    },
  };
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
  const quick = quickArgs(argv);
  if (quick) {
    try {
      return quick.command === 'render' ? renderCommand(quick.args, io) : planCommand(quick.args, io);
    } catch (e) {
      return reportError(e, io);
    }
  }
  if (argv[0] === HOSTS_COMMAND) return completeHostsCommand(argv.slice(1), io);
  const { default: yargs } = await import('yargs');
  let code: number = EXIT.ok;
  const completion: CompletionCommand[] = [];
  const run = (fn: () => number | Promise<number>) => async () => {
    code = await fn();
  };
  const parser = yargs(argv)
    .scriptName('routegen')
    .usage('$0 <command> [options]\n\nPersistent pod network routes for Kubernetes the Hard Way.')
    .command(
      'plan',
      'print the routes every host needs (validates the inventory; touches no host)',
      (y) =>
        stackOptions(common(y))
          .option('format', { type: 'string', choices: PLAN_FORMATS, describe: 'table (the default), json (as --json), or a picture: mermaid or dot', group: 'Output:' })
          .example('$0 plan -i machines.txt', 'the table')
          .example('$0 plan --json', 'the same as JSON')
          .example('$0 plan --format dot | dot -Tsvg > plan.svg', 'a picture'),
      (a) => run(() => planCommand(a as unknown as PlanArgs, io))(),
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
    .command(
      'push',
      'deliver, apply, verify in the kernel, confirm — or roll back by itself',
      (y) =>
        commitOptions(remoteOptions(stackOptions(common(y))))
          .option('dry-run', { alias: 'n', type: 'boolean', describe: 'connect and compare, print what would change, write nothing' })
          .example('$0 push -i machines.txt --stack networkd --interface eth1', '')
          .example('$0 push --dry-run', 'show what would change'),
      // The remote commands load ssh2 & co. (~70 ms) only when they run: plan and render never need them.
      (a) => run(async () => (await import('./commands/push.js')).pushCommand(a as unknown as PushArgs, io, 'push'))(),
    )
    .command(
      'diff',
      "show, host by host, a unified diff of each host's current file against the plan (read only)",
      (y) => remoteOptions(stackOptions(common(y))),
      (a) => run(async () => (await import('./commands/push.js')).pushCommand(a as unknown as PushArgs, io, 'diff'))(),
    )
    .command(
      'status',
      'per host: file in sync? every planned route in the kernel? stale routes? pod subnets agree? exit 1 on drift (read only)',
      (y) =>
        remoteOptions(stackOptions(common(y)))
          .option('cluster', { type: 'string', describe: "`kubectl get nodes -o json` output: compare the Node objects' podCIDRs with the inventory too", group: 'Inputs:' })
          .example('$0 status --cluster nodes.json', 'with kubectl get nodes -o json > nodes.json'),
      (a) => run(async () => (await import('./commands/status.js')).statusCommand(a as unknown as StatusArgs, io))(),
    )
    .command(
      'rollback',
      'put back the file routegen kept before its last push, and apply it',
      (y) => remoteOptions(stackOptions(common(y))),
      (a) => run(async () => (await import('./commands/status.js')).rollbackCommand(a as unknown as PushArgs, io))(),
    )
    .command(
      'remove',
      "take routegen off the hosts: its file (or its routes in a NetworkManager keyfile), its routes in the kernel, its state and helper script — same safety as push",
      (y) =>
        commitOptions(remoteOptions(stackOptions(common(y))))
          .option('dry-run', { alias: 'n', type: 'boolean', describe: 'connect and show what would go, change nothing' })
          .example('$0 remove --dry-run', 'show what would go')
          .example('$0 remove --hosts node-0', 'take routegen off node-0 only'),
      (a) => run(async () => (await import('./commands/remove.js')).removeCommand(a as unknown as PushArgs, io))(),
    )
    .command(
      'discover',
      "find each host's network stack, the interface holding its address and (networkd) its .network file (read only)",
      (y) =>
        remoteOptions(common(y))
          .option('write', { type: 'boolean', describe: 'record the findings in routegen.yaml (-c FILE) under hosts:, keeping the rest of the file' })
          .example('$0 discover --write', 'then `routegen render` works offline'),
      (a) => run(async () => (await import('./commands/discover.js')).discoverCommand(a as unknown as DiscoverArgs, io))(),
    )
    .command(
      'completion [shell]',
      'print a bash or zsh script that completes commands, options and host names',
      (y) =>
        y
          .positional('shell', { choices: SHELLS, default: 'bash', describe: 'the shell to complete in' })
          .example('source <($0 completion bash)', 'in ~/.bashrc')
          .example('$0 completion zsh > "${fpath[1]}/_routegen"', 'zsh, for good'),
      (a) => run(() => completionCommand(a.shell as (typeof SHELLS)[number], completion, io))(),
    )
    .command(
      'schema',
      "print routegen.yaml's JSON Schema, with which editors check and complete it",
      (y) => y.example('$0 schema > routegen.schema.json', 'see README.md, "Editor support"'),
      () => run(() => schemaCommand(io))(),
    )
    .demandCommand(1, 'Name a command: plan, render, push, diff, status, rollback, remove, discover, completion or schema. See routegen --help.')
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

  // yargs forgets its commands while it runs one: `completion` reads them before
  completion.push(...(argv[0] === 'completion' ? describeCommands(parser, () => yargs([])) : []));
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
