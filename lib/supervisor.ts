/**
 * Keeps one chip working, unattended: opens it, services its interrupts (polling every N ms, or when
 * told that the INT line fired), checks now and then that it still holds its configuration (a power
 * glitch resets it), and while the chip does not answer, probes it at a steady, cheap rate so that it
 * is picked up within about one probe interval of answering again. Everything here ends on `stop()`.
 *
 * Users subscribe to input changes of some pins ({@link ChipSupervisor.subscribeInputs}): each gets a
 * baseline, then the ordered changes. The log gets one line when the chip goes, one when it comes
 * back (how long it was gone, how many probes failed), and a summary of the transactions that needed
 * a retry, at most once per `retrySummaryMs`.
 */
import { EventEmitter } from 'node:events';
import { Mcp23017, type InputConfig, type ServiceResult, type VerifyResult } from './driver';
import type { I2cError, I2cErrorKind } from './errors';
import { InputTracker, type InputStep, type KnownInputs } from './inputs';
import { systemClock, type Clock } from './clock';
import type { RetryEvent } from './transport';

export type SupervisorState = 'starting' | 'online' | 'offline' | 'stopped';

export interface SupervisorStatus {
  state: SupervisorState;
  /** Why it is offline. */
  error?: I2cError;
  /** When offline: milliseconds between probes. */
  retryInMs?: number;
  /** When offline: probes that failed since it went. */
  failedProbes?: number;
}

export interface SupervisorOptions {
  /** Milliseconds between service reads while inputs are watched (0 = no polling; INT line only). */
  pollInterval: number;
  /** Milliseconds between configuration checks (0 = never). Default 5000. */
  verifyInterval?: number;
  /**
   * Milliseconds between probes while the chip does not answer (each one a read without side effects,
   * then the whole configuration when it answers). The poll interval is used when it is longer.
   * Default 1000.
   */
  probeInterval?: number;
  /**
   * Most service reads in a row while flags stay set. Default 1, enough when polling: a change after
   * the read is latched again and the next poll reads it. With the INT line use more (8): the reads
   * repeat until no flag is left, so a change during servicing is read even if its edge is hidden
   * (an INT shared with another chip); they stop early when they repeat (a held compare-mode pin).
   */
  maxServiceLoops?: number;
  /** Longest time between two retry summaries in the log. Default 60000. */
  retrySummaryMs?: number;
  /** What was known of the inputs before (e.g. before a redeploy): changes since are reported. */
  knownInputs?: KnownInputs;
  clock?: Clock;
}

export interface SupervisorEvents {
  status: [SupervisorStatus];
  /** Every service read's changes (all watched pins), for views; users subscribe instead. */
  input: [InputStep[], ServiceResult];
  restored: [VerifyResult];
  /** Worth a warning in the log (the status shows it too). */
  warning: [string];
  /** Worth an info line in the log. */
  info: [string];
}

/** What a subscriber of input changes is told. */
export interface InputListener {
  /**
   * The pins in `mask` are at these levels (bit k = pin k+1), not as a change: at the first service
   * read after subscribing (the levels last reported, so what changed since follows as changes), and
   * for pins whose direction or polarity was just rewritten.
   */
  baseline(value: number, mask: number, result: ServiceResult): void;
  /** Ordered changes that involve the subscribed pins (`step.changed` may include other pins). */
  changes(steps: InputStep[], result: ServiceResult): void;
}

/** What is known of a chip's inputs and the direction/polarity they were read under (kept across a redeploy). */
export interface InputMemory {
  known: KnownInputs;
  config: InputConfig;
}

export interface InputSubscription {
  readonly mask: number;
  close(): void;
}

interface Subscriber {
  mask: number;
  listener: InputListener;
  based: boolean;
  closed: boolean;
}

const KIND_TEXT: Partial<Record<I2cErrorKind, string>> = {
  io: 'I/O error',
  timeout: 'timeout',
  absent: 'NACK',
};

/** "1.5 s", "250 ms" */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${Math.round(ms / 100) / 10} s`;
  const minutes = Math.floor(ms / 60000);
  const seconds = Math.round((ms % 60000) / 1000);
  return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
}

export class ChipSupervisor extends EventEmitter<SupervisorEvents> {
  readonly driver: Mcp23017;
  private readonly options: Required<Omit<SupervisorOptions, 'knownInputs' | 'clock'>>;
  private readonly clock: Clock;
  private readonly tracker = new InputTracker();
  private readonly subscribers = new Set<Subscriber>();
  private statusValue: SupervisorStatus = { state: 'starting' };
  private probeTimer: unknown;
  private pollTimer: unknown;
  private verifyTimer: unknown;
  private summaryTimer: unknown;
  private servicing: Promise<void> | undefined;
  private serviceAgain = false;
  private held = 0;
  private stopped = false;
  private started = false;
  /** When the current outage began (clock time), and the probes that failed since. */
  private offlineSince: number | undefined;
  private failedProbes = 0;
  private everOnline = false;
  /** Retries of this chip's transactions since the last summary, by error kind. */
  private retries = new Map<I2cErrorKind, number>();
  private retriesTotal = 0;
  private readonly onRetry = (event: RetryEvent) => this.countRetry(event);

  constructor(driver: Mcp23017, options: SupervisorOptions) {
    super();
    this.driver = driver;
    this.clock = options.clock ?? systemClock;
    this.options = {
      verifyInterval: 5000,
      probeInterval: 1000,
      maxServiceLoops: 1,
      retrySummaryMs: 60000,
      ...Object.fromEntries(Object.entries(options).filter(([k, v]) => v !== undefined && k !== 'knownInputs' && k !== 'clock')),
    } as Required<Omit<SupervisorOptions, 'knownInputs' | 'clock'>>;
    if (options.knownInputs) this.tracker.seed(options.knownInputs);
    this.onService = this.onService.bind(this);
    driver.on('service', this.onService);
    driver.on('offline', (error) => this.handleFailure(error));
    // Whoever ran the check (the timer below, or a caller of driver.verify()), a restore is logged.
    driver.on('restored', (result) => {
      this.emit('restored', result);
      this.emit('warning', `${driver.label} lost its configuration (${result.mismatches.join('; ')}); restored it`);
    });
    driver.on('bank1', (iocon) => {
      this.emit('warning', `${driver.label} was in BANK=1 (IOCON 0x${iocon.toString(16).toUpperCase().padStart(2, '0')}, as some other MCP23017 software leaves it): switched it to BANK=0 and wrote the whole configuration`);
    });
    driver.transport.on('retry', this.onRetry);
  }

  get status(): SupervisorStatus {
    return this.statusValue;
  }

  /**
   * A compare-mode pin is held away from its default value, so the chip keeps its interrupt asserted
   * (it re-latches after every clear) and the INT line cannot give an edge for other changes: whoever
   * watches the INT line should poll until this is false again (docs/mcp23017.md §7.2).
   */
  get interruptHeld(): boolean {
    return this.held !== 0;
  }

  /** The last known value of all 16 inputs (undefined before the first read). */
  get inputs(): number | undefined {
    return this.tracker.value;
  }

  /** What is known of the inputs, with the setting they were read under (kept across a redeploy). */
  inputMemory(): InputMemory | undefined {
    const config = this.driver.inputConfig;
    if (!config || this.tracker.value === undefined) return undefined;
    return { known: this.tracker.snapshot(), config };
  }

  /** Probe interval in effect: `probeInterval`, or the poll interval if longer. */
  get probeIntervalMs(): number {
    return Math.max(this.options.probeInterval, this.options.pollInterval);
  }

  /** Opens the chip (on the next tick, so that users created in the same tick have staged their settings). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.probeTimer = this.clock.setTimeout(() => void this.connect(), 0);
  }

  /**
   * Input changes of the pins in `mask` for `listener`: a baseline at the next service read, then the
   * changes in order. Polling runs while there is at least one subscription.
   */
  subscribeInputs(mask: number, listener: InputListener): InputSubscription {
    const subscriber: Subscriber = { mask: mask & 0xffff, listener, based: false, closed: false };
    const first = this.subscribers.size === 0;
    this.subscribers.add(subscriber);
    if (this.statusValue.state === 'online') {
      // Subscribed while the chip runs (a node restarted alone): read once the node has staged its
      // pins (after its constructor), so it gets its baseline now, not at the next poll or INT edge.
      queueMicrotask(() => void this.serviceNow());
    }
    if (first) this.schedulePoll(this.options.pollInterval);
    return {
      mask: subscriber.mask,
      close: () => {
        if (subscriber.closed) return;
        subscriber.closed = true;
        this.subscribers.delete(subscriber);
        if (this.subscribers.size === 0) this.clearTimer('pollTimer');
      },
    };
  }

  /**
   * Service the chip now (the INT line fired, or a caller wants fresh inputs): reads until no flag is
   * left, so a change that landed during servicing is not lost. Concurrent requests share one run.
   */
  serviceNow(): Promise<void> {
    if (this.stopped || this.statusValue.state !== 'online') return Promise.resolve();
    if (this.servicing) {
      this.serviceAgain = true;
      return this.servicing;
    }
    const run = async () => {
      try {
        do {
          this.serviceAgain = false;
          let previous: ServiceResult | undefined;
          for (let i = 0; i < this.options.maxServiceLoops; i++) {
            const result = await this.driver.service();
            if (!result.flags) break;
            // Compare mode with a held pin re-latches at once: stop when reads repeat.
            if (previous && previous.flags === result.flags && previous.captured === result.captured && previous.current === result.current) break;
            previous = result;
          }
        } while (this.serviceAgain && !this.stopped);
      } catch {
        // The driver went offline and reported it; handleFailure schedules the probes.
      } finally {
        this.servicing = undefined;
      }
    };
    this.servicing = run();
    return this.servicing;
  }

  /** Stops every timer and closes the driver (and with it the bus, if this was its last chip). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of ['probeTimer', 'pollTimer', 'verifyTimer', 'summaryTimer'] as const) this.clearTimer(timer);
    await this.servicing;
    this.summariseRetries();
    this.driver.off('service', this.onService);
    this.driver.transport.off('retry', this.onRetry);
    this.subscribers.clear();
    await this.driver.close();
    this.setStatus({ state: 'stopped' });
    this.removeAllListeners();
  }

  private async connect(): Promise<void> {
    this.probeTimer = undefined;
    if (this.stopped) return;
    try {
      await this.driver.open();
    } catch (err) {
      if (this.stopped) return;
      // The failure also arrives as the driver's offline event (the first time): count it once.
      this.handleFailure(err as I2cError, true);
      return;
    }
    if (this.stopped) return;
    if (this.offlineSince !== undefined) {
      const gone = formatDuration(this.clock.now() - this.offlineSince);
      const probes = this.failedProbes === 1 ? '1 probe failed' : `${this.failedProbes} probes failed`;
      this.emit('info', this.everOnline
        ? `${this.driver.label} answers again after ${gone} (${probes}); configuration and outputs restored`
        : `${this.driver.label} answers after ${gone} (${probes}); configured it`);
    }
    this.offlineSince = undefined;
    this.failedProbes = 0;
    this.everOnline = true;
    this.setStatus({ state: 'online' });
    this.scheduleVerify();
    // Take the baseline now, so that the first change after deploy is reported against it.
    await this.serviceNow();
    if (this.subscribers.size > 0) this.schedulePoll(this.options.pollInterval);
  }

  /** The chip did not answer (a failed operation or a failed probe). */
  private handleFailure(error: I2cError, probe = false): void {
    if (this.stopped) return;
    this.clearTimer('pollTimer');
    this.clearTimer('verifyTimer');
    const previous = this.statusValue;
    if (this.offlineSince === undefined) {
      this.offlineSince = this.clock.now();
      this.failedProbes = 0;
      const what = this.everOnline ? `${this.driver.label} stopped answering: ${error.message}` : error.message;
      this.emit('warning', `${what}; trying again every ${formatDuration(this.probeIntervalMs)}`);
    } else if (probe) {
      this.failedProbes++;
      // Say so once if the reason changes (e.g. the chip is back but the bus is not, or the other way round).
      if (previous.error && previous.error.kind !== error.kind) this.emit('warning', `${error.message}; still trying every ${formatDuration(this.probeIntervalMs)}`);
    }
    this.setStatus({ state: 'offline', error, retryInMs: this.probeIntervalMs, failedProbes: this.failedProbes });
    if (!this.probeTimer) this.probeTimer = this.clock.setTimeout(() => void this.connect(), this.probeIntervalMs);
  }

  private schedulePoll(delay: number): void {
    if (this.stopped || this.subscribers.size === 0 || this.options.pollInterval <= 0) return;
    this.clearTimer('pollTimer');
    this.pollTimer = this.clock.setTimeout(async () => {
      this.pollTimer = undefined;
      await this.serviceNow();
      if (this.statusValue.state === 'online' && this.options.pollInterval > 0) this.schedulePoll(this.options.pollInterval);
    }, delay);
  }

  private scheduleVerify(): void {
    if (this.stopped || this.options.verifyInterval <= 0) return;
    this.clearTimer('verifyTimer');
    this.verifyTimer = this.clock.setTimeout(async () => {
      this.verifyTimer = undefined;
      try {
        const result = await this.driver.verify();
        if (!result.ok) await this.serviceNow(); // the warning came with the driver's 'restored'
      } catch {
        return; // offline: handled by handleFailure
      }
      this.scheduleVerify();
    }, this.options.verifyInterval);
  }

  private countRetry(event: RetryEvent): void {
    if (event.address !== this.driver.address || this.stopped) return;
    this.retries.set(event.kind, (this.retries.get(event.kind) ?? 0) + 1);
    this.retriesTotal++;
    if (this.summaryTimer === undefined) {
      this.summaryTimer = this.clock.setTimeout(() => {
        this.summaryTimer = undefined;
        this.summariseRetries();
      }, this.options.retrySummaryMs);
    }
  }

  /** One log line for the retries since the last one, if any. */
  private summariseRetries(): void {
    if (this.retriesTotal === 0) return;
    const kinds = [...this.retries.entries()].map(([kind, n]) => `${n} × ${KIND_TEXT[kind] ?? kind}`).join(', ');
    const total = this.retriesTotal;
    this.retries = new Map();
    this.retriesTotal = 0;
    this.emit('warning', `${this.driver.label}: ${total} I2C ${total === 1 ? 'transaction was' : 'transactions were'} retried (${kinds}); check the wiring and cable length if this repeats`);
  }

  private onService(result: ServiceResult): void {
    const d = this.driver;
    this.held = d.getRegister('GPINTEN') & d.getRegister('INTCON') & d.getRegister('IODIR') & (result.current ^ d.getRegister('DEFVAL')) & 0xffff;
    let watch = 0;
    for (const s of this.subscribers) watch |= s.mask;
    const before = this.tracker.value;
    const beforeMask = this.tracker.mask;
    const steps = this.tracker.update(result, watch);
    const current = result.current & 0xffff;
    // What a new subscriber starts from: the level last known for its pins (what changed since follows
    // as changes), the level read now for pins not known before or just rebased.
    const known = beforeMask & ~result.rebased & 0xffff;
    const base = (((before ?? 0) & known) | (current & ~known)) & 0xffff;
    for (const s of [...this.subscribers]) {
      try {
        if (!s.based) {
          s.based = true;
          s.listener.baseline(base & s.mask, s.mask, result);
        } else if (result.rebased & s.mask) {
          s.listener.baseline(current & result.rebased & s.mask, result.rebased & s.mask, result);
        }
        const mine = steps.filter((step) => step.changed & s.mask);
        if (mine.length && !s.closed) s.listener.changes(mine, result);
      } catch {
        // A listener's failure is its own (nodes catch and report theirs); the others still get theirs.
      }
    }
    this.emit('input', steps, result);
  }

  private clearTimer(name: 'probeTimer' | 'pollTimer' | 'verifyTimer' | 'summaryTimer'): void {
    const timer = this[name];
    if (timer !== undefined) this.clock.clearTimeout(timer);
    this[name] = undefined;
  }

  private setStatus(status: SupervisorStatus): void {
    this.statusValue = status;
    this.emit('status', status);
  }
}
