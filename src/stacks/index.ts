/** Every stack module by name, and the file names routegen may own. */
import type { StackName } from '../types.js';
import { ifupdown } from './ifupdown.js';
import { netplan } from './netplan.js';
import { networkd } from './networkd.js';
import { networkmanager } from './networkmanager.js';
import type { StackModule } from './stack.js';

export type { StackModule } from './stack.js';

export const STACKS: Record<StackName, StackModule> = { networkd, netplan, ifupdown, networkmanager };

/** Base names of every file routegen may own, on any stack. */
export const OWNED_NAMES = new Set(
  Object.values(STACKS)
    .filter((s) => !s.merges)
    .map((s) => s.path({ networkdFile: 'x.network', ssh: { via: 'ip' } }).split('/').pop()!),
);
