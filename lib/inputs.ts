/**
 * Turns service reads into the ordered input changes a flow should see.
 *
 * A service read gives, per port, INTF (was an interrupt latched?), INTCAP (the port at that first
 * event) and GPIO (the port now). So between two reads the inputs went
 *   last known  ->  captured (ports with a latched interrupt)  ->  current
 * and both steps are reported, in that order: a press and its release that both happened between two
 * reads still give two changes. Pins whose direction or polarity was just changed are "rebased":
 * their new value is a baseline, not a change.
 *
 * Only watched pins move on: a pin nobody watches keeps the value it had when it was last watched, so
 * a node that is restarted (a redeploy) is told about a change that happened while nobody listened.
 * The known values can be seeded, e.g. with what was known before a full redeploy.
 */
import type { ServiceResult } from './driver';

/** One step of the inputs: the 16-bit value after it and the pins that changed in it. */
export interface InputStep {
  /** All 16 pins after this step (bit k = pin k+1, inversion applied). */
  value: number;
  /** Pins that changed in this step. */
  changed: number;
  /** Pins whose change came from INTCAP (latched by the chip), not from GPIO. */
  fromCapture: boolean;
}

/** What is known of the inputs: `value` for the pins in `mask`. */
export interface KnownInputs {
  value: number;
  mask: number;
}

export class InputTracker {
  private known = 0;
  private knownMask = 0;

  /** The last known value of all 16 pins, or undefined before anything is known. */
  get value(): number | undefined {
    return this.knownMask === 0 ? undefined : this.known;
  }

  /** The pins whose value is known. */
  get mask(): number {
    return this.knownMask;
  }

  /** What is known (to keep across a restart, see {@link seed}). */
  snapshot(): KnownInputs {
    return { value: this.known & this.knownMask, mask: this.knownMask };
  }

  /** Takes `known` as the last known values of its pins (the next read reports changes against them). */
  seed(known: KnownInputs): void {
    const mask = known.mask & 0xffff;
    this.known = (this.known & ~mask) | (known.value & mask);
    this.knownMask |= mask;
  }

  /** Forget everything: the next read is taken as it is, without changes. */
  reset(): void {
    this.known = 0;
    this.knownMask = 0;
  }

  /**
   * The changes one service read reveals for the pins in `watch`, oldest first (0, 1 or 2 steps).
   * Pins not known before, and rebased pins, take the read as their baseline.
   */
  update(result: ServiceResult, watch = 0xffff): InputStep[] {
    const current = result.current & 0xffff;
    // Unknown and rebased pins start from the value read now.
    const fresh = (~this.knownMask | result.rebased) & 0xffff;
    const previous = ((this.known & ~fresh) | (current & fresh)) & 0xffff;
    // Ports with a latched interrupt went through their captured value first.
    let captured = previous;
    if (result.ports[0].flags) captured = (captured & 0xff00) | (result.captured & 0x00ff);
    if (result.ports[1].flags) captured = (captured & 0x00ff) | (result.captured & 0xff00);
    captured = (captured & ~fresh) | (current & fresh);
    const steps: InputStep[] = [];
    const first = (captured ^ previous) & watch;
    if (first) steps.push({ value: captured, changed: first, fromCapture: true });
    const second = (current ^ captured) & watch;
    if (second) steps.push({ value: current, changed: second, fromCapture: false });
    // Watched and fresh pins move on to the value read; the others keep what they had.
    const moving = (watch | fresh) & 0xffff;
    this.known = ((current & moving) | (this.known & ~moving)) & 0xffff;
    this.knownMask = 0xffff;
    return steps;
  }
}
