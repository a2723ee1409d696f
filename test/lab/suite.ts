/** What the lab test files share: a uvu suite that brings a lab up and down, and routegen run
 * from the lab's jumpbox as a user would run it there. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { suite } from 'uvu';
import { BIN } from '../helpers/cli.js';
import { bound } from '../helpers/time.js';
import { Lab, type LabOptions, type RunResult } from './lab.js';

export interface LabCtx {
  lab?: Lab;
  error?: unknown;
  /** The lab's machines.txt, written into its directory. */
  inventory?: string;
}

/** A suite with its own lab. uvu swallows an exception thrown in a `before` hook (it returns
 * from `finally`): the error is kept, and `needLab` rethrows it in every test. */
export function labSuite(name: string, opts: LabOptions) {
  const s = suite<LabCtx>(name, {});
  s.before(async (ctx) => {
    try {
      ctx.lab = await Lab.up(opts);
      ctx.inventory = path.join(ctx.lab.dir, 'machines.txt');
      fs.writeFileSync(ctx.inventory, ctx.lab.machinesTxt());
    } catch (e) {
      ctx.error = e;
    }
  });
  s.after(async (ctx) => {
    await ctx.lab?.down();
  });
  return s;
}

export function needLab(ctx: LabCtx): Lab {
  if (!ctx.lab) throw ctx.error instanceof Error ? ctx.error : new Error(`lab did not come up: ${String(ctx.error)}`);
  return ctx.lab;
}

/** `routegen CMD -F <lab ssh config> ARGS...` as argv for the jumpbox. */
export function routegenArgv(lab: Lab, args: string[], sshConfig = lab.sshConfigFile): string[] {
  const [cmd, ...rest] = args;
  return ['node', BIN, cmd!, '-F', sshConfig, ...rest];
}

/** Runs the built routegen on the jumpbox, colour off. */
export function jumpboxRoutegen(lab: Lab, args: string[], opts: { sshConfig?: string } = {}): Promise<RunResult> {
  return lab.jumpbox(routegenArgv(lab, args, opts.sshConfig), { env: { NO_COLOR: '1' }, timeoutMs: bound(180_000) });
}
