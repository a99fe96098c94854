/**
 * A fake clock for code that takes its timers injected ({ setTimeout, clearTimeout }): time moves
 * only when a test calls {@link FakeTimers.advance}, so timing is asserted exactly, with no sleep,
 * however busy the machine is.
 */
export class FakeTimers {
  /** Milliseconds since the clock was made. */
  now = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  readonly setTimeout = (callback: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.pending.set(id, { at: this.now + Math.max(0, ms), callback });
    return id;
  };

  readonly clearTimeout = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };

  /** Timers not yet fired nor cleared. */
  get count(): number {
    return this.pending.size;
  }

  /** Moves time on by `ms`, firing every timer due on the way in time order (ties: in the order they were set). */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let due: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.pending) {
        if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
    }
    this.now = end;
  }
}
