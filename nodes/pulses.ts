/**
 * iopi-out's timed pulses: which pins are in a pulse, when each pulse ends and the level each pin
 * goes back to. No Node-RED and no driver: the end of a pulse is handed to a callback that writes
 * it, and the timers come from an injectable clock, so the timing is tested without sleeping.
 */

/** Timer functions: the process's own, or a fake clock in tests. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Pins started together: they end together, in one write. */
interface Pulse {
  /** Pins still in this pulse (a later pulse or a set / toggle takes pins away). */
  mask: number;
  /** Levels the pins of `mask` go back to (bits outside `mask` are 0). */
  restore: number;
  handle: unknown;
}

export class Pulses {
  private readonly running = new Set<Pulse>();
  private closed = false;

  /**
   * `end(mask, value)` writes the end of a pulse: the pins of `mask` back to the levels in `value`.
   * It is called once per pulse that runs out, and once from {@link close} for all that are left.
   */
  constructor(
    private readonly end: (mask: number, value: number) => void,
    private readonly timers: Timers = realTimers,
  ) {}

  /**
   * A pulse on the pins of `mask` for `ms`; `outputs` is the output latch before the pulse's level
   * is written. A pin already in a pulse is extended: its pulse now ends `ms` from now, and it
   * still goes back to the level it had before its first pulse.
   */
  start(mask: number, outputs: number, ms: number): void {
    if (this.closed || !mask) return;
    let restore = outputs & mask;
    for (const pulse of this.running) {
      const shared = pulse.mask & mask;
      if (!shared) continue;
      restore = (restore & ~shared) | (pulse.restore & shared);
      this.release(pulse, shared);
    }
    const pulse: Pulse = { mask, restore, handle: undefined };
    pulse.handle = this.timers.setTimeout(() => {
      this.running.delete(pulse);
      if (pulse.mask) this.end(pulse.mask, pulse.restore);
    }, ms);
    this.running.add(pulse);
  }

  /** The pins of `mask` leave their pulse without going back (a set or a toggle has written them). */
  cancel(mask: number): void {
    for (const pulse of this.running) if (pulse.mask & mask) this.release(pulse, pulse.mask & mask);
  }

  /** Pins in a pulse now (16-bit mask). */
  get pins(): number {
    let mask = 0;
    for (const pulse of this.running) mask |= pulse.mask;
    return mask;
  }

  /** Ends every pulse now, in one write back (the node is closing: no timer outlives it); starts no more. */
  close(): void {
    this.closed = true;
    let mask = 0;
    let value = 0;
    for (const pulse of this.running) {
      this.timers.clearTimeout(pulse.handle);
      mask |= pulse.mask;
      value |= pulse.restore;
    }
    this.running.clear();
    if (mask) this.end(mask, value);
  }

  private release(pulse: Pulse, mask: number): void {
    pulse.mask &= ~mask;
    pulse.restore &= ~mask;
    if (pulse.mask === 0) {
      this.timers.clearTimeout(pulse.handle);
      this.running.delete(pulse);
    }
  }
}
