/**
 * Time as the library sees it: now() and one-shot timers. Everything that waits (write deadlines,
 * probes, polls, summaries) takes a Clock, so tests can drive time by hand instead of sleeping.
 */
export interface Clock {
  /** Milliseconds, growing (Date.now() by default). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
