/**
 * Per-pin debounce for input changes: a pin's new level is reported only once it has held for
 * `ms` milliseconds; a bounce back within that time cancels it. With `ms` = 0 every change passes at once.
 *
 * Inputs are only seen when the chip is read, so a bounce back may still be waiting in the chip when
 * the time is up (a blip shorter than the debounce but straddling a poll). `confirm`, if given, is
 * awaited before a level is reported: it should read the chip, so that such a change arrives first.
 */
export class Debouncer {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly reported = new Map<number, 0 | 1>();
  private readonly latest = new Map<number, 0 | 1>();

  private stopped = false;

  constructor(
    private readonly ms: number,
    private readonly emit: (pin: number, value: 0 | 1) => void,
    private readonly confirm?: () => Promise<unknown>,
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
    const timer = setTimeout(async () => {
      if (this.confirm) {
        try {
          await this.confirm();
        } catch {
          // a failed read changes nothing here; the level seen so far stands
        }
        // A change seen by that read started a new wait (or stop() was called): that one decides.
        if (this.stopped || this.timers.get(pin) !== timer) return;
      }
      this.timers.delete(pin);
      const settled = this.latest.get(pin) as 0 | 1;
      if (this.reported.get(pin) === settled) return; // bounced back: nothing happened
      this.reported.set(pin, settled);
      this.emit(pin, settled);
    }, this.ms);
    this.timers.set(pin, timer);
  }

  /** Cancels every pending report. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
