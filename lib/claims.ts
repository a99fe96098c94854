/**
 * Pin claims: which user uses which pins of a chip, as inputs or as outputs. A pin claimed in both
 * directions by different users is a conflict (one node would make it an input, the other an output:
 * whichever wrote last wins). This is the one rule; the runtime warns with it at deploy, and the
 * editor applies the same rule to the flow being edited.
 */
import { pinsOfMask } from './pins';

export type ClaimDirection = 'in' | 'out';

export interface PinClaim {
  /** Unique per user and direction, e.g. "<node id>/in". */
  id: string;
  /** The user (node) that claims. */
  user: string;
  /** What to call the user in a warning (its name, or its id). */
  label: string;
  /** The configuration node the user belongs to. */
  owner: string;
  direction: ClaimDirection;
  mask: number;
}

/** One side of a conflict: `claim` overlaps `other` (the other direction) on `pins`. */
export interface ClaimConflict {
  claim: PinClaim;
  other: PinClaim;
  /** Pins 1-16 claimed by both. */
  pins: number[];
}

/** Every conflict, once from each side. */
export function findConflicts(claims: Iterable<PinClaim>): ClaimConflict[] {
  const list = [...claims];
  const conflicts: ClaimConflict[] = [];
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      const a = list[i];
      const b = list[j];
      if (a.direction === b.direction || a.user === b.user) continue;
      const overlap = a.mask & b.mask & 0xffff;
      if (!overlap) continue;
      const pins = pinsOfMask(overlap);
      conflicts.push({ claim: a, other: b, pins }, { claim: b, other: a, pins });
    }
  }
  return conflicts;
}
