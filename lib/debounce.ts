/**
 * Per-pin debounce for input changes: a pin's new level is reported only once it has held for
 * `ms` milliseconds; a bounce back within that time cancels it. With `ms` = 0 every change passes at once.
 */
export class Debouncer {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly reported = new Map<number, 0 | 1>();
  private readonly latest = new Map<number, 0 | 1>();

  constructor(
    private readonly ms: number,
    private readonly emit: (pin: number, value: 0 | 1) => void,
  ) {}

  /** The level last reported for a pin (undefined before any). */
  reportedValue(pin: number): 0 | 1 | undefined {
    return this.reported.get(pin);
  }

  /** Sets what a pin is known to be without reporting it (the state at deploy). */
  baseline(pin: number, value: 0 | 1): void {
    this.reported.set(pin, value);
    this.latest.set(pin, value);
  }

  /** A change seen on a pin. */
  push(pin: number, value: 0 | 1): void {
    this.latest.set(pin, value);
    if (this.ms <= 0) {
      this.reported.set(pin, value);
      this.emit(pin, value);
      return;
    }
    const pending = this.timers.get(pin);
    if (pending) clearTimeout(pending);
    this.timers.set(pin, setTimeout(() => {
      this.timers.delete(pin);
      const settled = this.latest.get(pin) as 0 | 1;
      if (this.reported.get(pin) === settled) return; // bounced back: nothing happened
      this.reported.set(pin, settled);
      this.emit(pin, settled);
    }, this.ms));
  }

  /** Cancels every pending report. */
  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
