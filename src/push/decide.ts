/**
 * What push does to a host, decided from what it found there — no I/O. The file on the host
 * and its mode, the planned file and the mode its stack needs, and (when it was read) whether
 * the kernel has the planned routes.
 */
export interface HostState {
  /** The file on the host (null: none), and its permission bits (null: none). */
  current: string | null;
  currentMode: number | null;
  /** What the file should be (null: no file). */
  planned: string | null;
  /** The mode the stack needs for it. */
  mode: number;
  /** Whether the kernel has every planned route and none of the removed ones; undefined: not read. */
  kernelOk?: boolean;
}

export type RunMode = 'push' | 'dry-run' | 'diff';

export type Decision =
  /** Only tell what would change (dry run, diff); `guard`: check the plan against the host's
   * table first, as a push would (a dry run shows what a push would refuse). */
  | { action: 'show'; outcome: 'unchanged' | 'would change'; guard: boolean }
  /** The file is right; the kernel's table must be read to know more. */
  | { action: 'read-kernel' }
  /** File and kernel are right. */
  | { action: 'none' }
  /** The file is right but the kernel is not: apply the file again. */
  | { action: 'repair' }
  /** Write the planned file, apply it, verify, confirm. */
  | { action: 'write' };

/** The file is as planned, mode included (no file planned and none there counts). */
export function fileInSync(s: Pick<HostState, 'current' | 'currentMode' | 'planned' | 'mode'>): boolean {
  return s.current === s.planned && (s.planned === null || s.currentMode === s.mode);
}

export function decide(s: HostState, mode: RunMode): Decision {
  const same = fileInSync(s);
  if (mode !== 'push') return { action: 'show', outcome: same ? 'unchanged' : 'would change', guard: !same && mode === 'dry-run' };
  if (!same) return { action: 'write' };
  if (s.kernelOk === undefined) return { action: 'read-kernel' };
  return s.kernelOk ? { action: 'none' } : { action: 'repair' };
}
