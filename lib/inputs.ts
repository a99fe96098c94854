/**
 * Turns service reads into the ordered input changes a flow should see.
 *
 * A service read gives, per port, INTF (was an interrupt latched?), INTCAP (the port at that first
 * event) and GPIO (the port now). So between two reads the inputs went
 *   last known  ->  captured (ports with a latched interrupt)  ->  current
 * and both steps are reported, in that order: a press and its release that both happened between two
 * reads still give two changes. Pins whose direction or polarity was just changed are "rebased":
 * their new value is a baseline, not a change.
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

export class InputTracker {
  private known: number | undefined;

  /** The last known value of all 16 pins, or undefined before the first read. */
  get value(): number | undefined {
    return this.known;
  }

  /** Forget the baseline: the next read is taken as it is, without changes. */
  reset(): void {
    this.known = undefined;
  }

  /** The changes one service read reveals, oldest first (0, 1 or 2 steps). */
  update(result: ServiceResult): InputStep[] {
    const current = result.current & 0xffff;
    if (this.known === undefined) {
      this.known = current;
      return [];
    }
    const rebased = result.rebased & 0xffff;
    const previous = (this.known & ~rebased) | (current & rebased);
    // Ports with a latched interrupt went through their captured value first.
    let captured = previous;
    if (result.ports[0].flags) captured = (captured & 0xff00) | (result.captured & 0x00ff);
    if (result.ports[1].flags) captured = (captured & 0x00ff) | (result.captured & 0xff00);
    captured = (captured & ~rebased) | (current & rebased);
    const steps: InputStep[] = [];
    if (captured !== previous) steps.push({ value: captured, changed: captured ^ previous, fromCapture: true });
    if (current !== captured) steps.push({ value: current, changed: current ^ captured, fromCapture: false });
    this.known = current;
    return steps;
  }
}
