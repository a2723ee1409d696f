/**
 * The namespace lab by hand: `node --import tsx test/lab/cli.ts <command>` (or `npm run lab --`).
 * `up` leaves the lab running after this process exits; every other command re-attaches to it
 * through its state file.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { LAB_STACKS, Lab, labUnavailable, type LabStack } from './lab.js';

const DEFAULT_STATE = process.env.ROUTEGEN_LAB_STATE ?? '/tmp/routegen-lab/state.json';

const USAGE = `usage: node --import tsx test/lab/cli.ts [--state FILE] <command> [args]

  up [--workers N] [--stack SPEC] [--no-server] [--prefix P] [--dual-stack]
                      bring a lab up and leave it running. SPEC: networkd | netplan | ifupdown
                      | networkmanager, or per host: node-0=netplan,server=networkmanager,
                      default=networkd.
                      --dual-stack: IPv6 too (eth1 fd00:10::101..., pods fd00:10:200:N::/64)
  down                tear the lab down (kills only the PIDs it recorded)
  status              hosts, PIDs, eth1 addresses and routes
  ssh HOST [CMD...]   ssh from the jumpbox with the lab's ssh config
  sftp HOST           sftp from the jumpbox with the lab's ssh config
  exec HOST CMD...    run a command inside the host's namespaces (no SSH)
  jumpbox CMD...      run a command in the jumpbox's network namespace (192.168.10.10)
  reboot HOST [--full]
                      simulated reboot: stack stops, eth1 flushed, stack starts from its files;
                      --full: every process of the host dies too, /run and /tmp are emptied
  machines            print the lab's machines.txt
  env                 print shell variables for the lab (eval "$(... env)")

HOST is a name (server, node-0, ...) or an IP. State file: --state, $ROUTEGEN_LAB_STATE or
${DEFAULT_STATE}.`;

class UsageError extends Error {}

function parseStack(spec: string | undefined): LabStack | ((host: string) => LabStack) | undefined {
  if (!spec) return undefined;
  const valid = (s: string): LabStack => {
    const known = LAB_STACKS.find((x) => x === s);
    if (known) return known;
    throw new UsageError(`unknown stack ${JSON.stringify(s)} (${LAB_STACKS.slice(0, -1).join(', ')} or ${LAB_STACKS.at(-1)!})`);
  };
  if (!spec.includes('=')) return valid(spec);
  const map = new Map<string, LabStack>();
  for (const part of spec.split(',')) {
    const [host, stack] = part.split('=');
    if (!host || !stack) throw new UsageError(`bad --stack part ${JSON.stringify(part)}`);
    map.set(host, valid(stack));
  }
  const dflt = map.get('default') ?? 'networkd';
  return (host) => map.get(host) ?? dflt;
}

/** Run a program with this terminal; resolves to its exit code. */
function interactive(argv: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: env ?? process.env });
    // The child gets the terminal's ^C itself; we only wait for it.
    const ignore = () => undefined;
    process.on('SIGINT', ignore);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve(code ?? (signal ? 128 + 2 : 1));
    });
  });
}

function attach(stateFile: string): Lab {
  if (!fs.existsSync(stateFile)) throw new UsageError(`no lab is up (no ${stateFile}); run "up" first`);
  return Lab.attach(stateFile);
}

async function main(args: string[]): Promise<number> {
  let stateFile = DEFAULT_STATE;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--state') stateFile = args[++i] ?? '';
    else if (args[i]!.startsWith('--state=')) stateFile = args[i]!.slice('--state='.length);
    else rest.push(args[i]!);
  }
  const [command, ...argv] = rest;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const host = () => {
    const h = argv.shift();
    if (!h) throw new UsageError(`${command}: which host?`);
    return h;
  };

  switch (command) {
    case 'up': {
      let workers: number | undefined;
      let stack: string | undefined;
      let withServer = true;
      let prefix: string | undefined;
      let dualStack = false;
      for (let i = 0; i < argv.length; i++) {
        const a = argv[i]!;
        const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
        const value = () => inline ?? argv[++i] ?? '';
        if (flag === '--workers') workers = Number(value());
        else if (flag === '--stack') stack = value();
        else if (flag === '--prefix') prefix = value();
        else if (flag === '--no-server') withServer = false;
        else if (flag === '--dual-stack') dualStack = true;
        else throw new UsageError(`up: unknown option ${a}`);
      }
      const why = labUnavailable();
      if (why) throw new Error(`the lab cannot run here: ${why}`);
      if (fs.existsSync(stateFile)) {
        const old = Lab.attach(stateFile);
        if (old.status().some((h) => h.running)) {
          throw new UsageError(`a lab is already up (${stateFile}, prefix ${old.prefix}); run "down" first`);
        }
        await old.down(); // stale: clean what is left of it
        fs.rmSync(stateFile, { force: true });
      }
      const lab = await Lab.up({ workers, stack: parseStack(stack), withServer, prefix, persist: true, dualStack });
      lab.saveState(stateFile);
      console.log(`lab ${lab.prefix} up in ${lab.bringUpMs} ms: ${lab.hosts.length} hosts${lab.dualStack ? ', dual stack' : ''}, state ${stateFile}`);
      for (const h of lab.hosts) {
        const v6 = lab.dualStack ? ` ${(h.ip6 ?? '').padEnd(14)}` : '';
        const subnets = [h.podSubnet, h.podSubnet6].filter(Boolean).join(',');
        console.log(`  ${h.name.padEnd(8)} ${h.ip.padEnd(15)}${v6} ${h.stack.padEnd(14)} ${subnets}`);
      }
      console.log(`  jumpbox  ${lab.jumpboxIp}${lab.jumpboxIp6 ? ` ${lab.jumpboxIp6}` : ''}`);
      console.log(`dir ${lab.dir}\nssh config ${lab.sshConfigFile}\nmachines.txt ${lab.dir}/machines.txt`);
      return 0;
    }
    case 'down': {
      const lab = attach(stateFile);
      const t = Date.now();
      await lab.down();
      fs.rmSync(stateFile, { force: true });
      console.log(`lab ${lab.prefix} down in ${Date.now() - t} ms`);
      return 0;
    }
    case 'status': {
      const lab = attach(stateFile);
      console.log(`lab ${lab.prefix}, dir ${lab.dir}`);
      for (const s of lab.status()) {
        let detail = 'NOT RUNNING';
        if (s.running) {
          const v6 = lab.dualStack ? (await lab.routes6(s.name)).filter((r) => r.dst !== 'fe80::/64') : [];
          const routes = [...(await lab.routes(s.name)), ...v6];
          detail = routes.map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} ${r.dev ?? ''}${r.protocol ? ` proto ${r.protocol}` : ''}`).join('; ');
        }
        console.log(`  ${s.name.padEnd(8)} ${s.ip.padEnd(15)} ${s.stack.padEnd(14)} pid ${String(s.pid).padEnd(7)} ${detail}`);
      }
      return lab.status().every((s) => s.running) ? 0 : 1;
    }
    case 'ssh':
    case 'sftp': {
      const lab = attach(stateFile);
      const ip = lab.host(host()).ip;
      return interactive(lab.jumpboxCommand([command, '-F', lab.sshConfigFile, ip, ...argv]));
    }
    case 'exec': {
      const lab = attach(stateFile);
      const name = host();
      if (!argv.length) throw new UsageError('exec: which command?');
      const cmd = lab.hostCommand(name, argv);
      return interactive(cmd.argv, { ...cmd.env, TERM: process.env.TERM ?? 'dumb' });
    }
    case 'jumpbox': {
      const lab = attach(stateFile);
      if (!argv.length) throw new UsageError('jumpbox: which command?');
      return interactive(lab.jumpboxCommand(argv));
    }
    case 'reboot': {
      const lab = attach(stateFile);
      const name = host();
      const full = argv.includes('--full');
      const t = Date.now();
      await lab.reboot(name, { full });
      console.log(`${name} rebooted in ${Date.now() - t} ms`);
      return 0;
    }
    case 'machines': {
      process.stdout.write(attach(stateFile).machinesTxt());
      return 0;
    }
    case 'env': {
      const lab = attach(stateFile);
      const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
      console.log(`LAB_DIR=${q(lab.dir)}`);
      console.log(`LAB_SSH_CONFIG=${q(lab.sshConfigFile)}`);
      console.log(`LAB_IDENTITY=${q(lab.identityFile)}`);
      console.log(`LAB_KNOWN_HOSTS=${q(lab.knownHostsFile)}`);
      console.log(`LAB_MACHINES=${q(`${lab.dir}/machines.txt`)}`);
      console.log(`LAB_JUMPBOX_NETNS=${q(lab.jumpboxNetns)}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      console.error(`Error: ${e.message}`);
      process.exitCode = 2;
    } else {
      console.error(e instanceof Error ? `Error: ${e.message}` : e);
      process.exitCode = 1;
    }
  },
);
