/**
 * What a run asks of each host (PushOptions) and what each host's run ends as (HostResult): the
 * shapes push, diff and remove share with their output.
 */
import type { Reach } from '../remote/reach.js';
import type { StackModule } from '../stacks/index.js';
import type { IpValue } from '../types.js';
import type { HostError } from './failure.js';

export type Step = 'connecting' | 'checking' | 'uploading' | 'applying' | 'verifying' | 'confirming' | 'rolling back' | 'done';

export type Outcome = 'changed' | 'unchanged' | 'repaired' | 'would change' | 'failed' | 'rolled back';

export interface HostResult {
  host: string;
  address: string;
  outcome: Outcome;
  /** Routes the host has once the plan is applied. */
  routes: number;
  /** Destinations added and removed; unknown until the host's current file was read. */
  added?: number;
  removed?: number;
  seconds: number;
  /** Path of routegen's file on the host, and the stack and interface used (given or discovered). */
  path?: string;
  stack?: string;
  interface?: string;
  /** Unified diff of current → planned (dry run and diff). */
  diff?: string;
  /** What failed: the step, the message, the host's own error text, what to try. */
  error?: HostError;
  /** Route problems found when verifying (or that caused the rollback). */
  problems?: string[];
  /** Milliseconds spent in each step (`--json`: where a host's time goes). */
  timings?: Partial<Record<Exclude<Step, 'done'>, number>>;
}

export interface PushOptions {
  dryRun?: boolean;
  /** Only read: compute the diff (routegen diff). */
  diffOnly?: boolean;
  /** How this run reaches its hosts (ssh config, jump hosts, timeouts). */
  ssh: Reach;
  confirmTimeoutS: number;
  /** --rollback-grace: how long after a host's own rollback was due routegen keeps trying to
   * reach it (default: rollbackMarginS of the confirm timeout). */
  rollbackGraceS?: number;
  verifyTimeoutS: number;
  commandTimeoutS: number;
  inventoryName: string;
  /** Every pod subnet of the cluster: on NetworkManager hosts, the routes routegen owns. */
  cluster: IpValue[];
  onStep?: (host: string, step: Step) => void;
  /** `routegen remove`: the file to write in place of the computed one (on NetworkManager, the
   * keyfile as it was before routegen came, when it differs from the computed one only there). */
  finalFile?: (stack: StackModule, path: string, computed: string | null) => Promise<string | null>;
}

/** Tracks a host's steps: reports each (progress display) and adds up the time spent in each. */
export function stepClock(host: string, result: HostResult, onStep: PushOptions['onStep']): (s: Step) => void {
  const timings: NonNullable<HostResult['timings']> = {};
  result.timings = timings;
  let current: { step: Step; at: number } | undefined;
  return (s: Step) => {
    const now = Date.now();
    if (current && current.step !== 'done') timings[current.step] = (timings[current.step] ?? 0) + (now - current.at);
    current = { step: s, at: now };
    onStep?.(host, s);
  };
}
