/**
 * Keeps one chip working, unattended: opens it (retrying with capped backoff while it is absent),
 * services its interrupts (polling every N ms, or when told that the INT line fired), checks now and
 * then that it still holds its configuration (a power glitch resets it), and reopens it after a
 * failure. Everything here ends on `stop()`.
 *
 * It reports `status` changes and the ordered `input` changes of all 16 pins; the Node-RED config
 * node only maps these to node status and messages.
 */
import { EventEmitter } from 'node:events';
import { Mcp23017, type ServiceResult, type VerifyResult } from './driver';
import type { I2cError } from './errors';
import { InputTracker, type InputStep } from './inputs';

export type SupervisorState = 'starting' | 'online' | 'offline' | 'stopped';

export interface SupervisorStatus {
  state: SupervisorState;
  /** Why it is offline. */
  error?: I2cError;
  /** When offline: milliseconds until the next attempt. */
  retryInMs?: number;
}

export interface SupervisorOptions {
  /** Milliseconds between service reads while inputs are watched (0 = no polling; INT line only). */
  pollInterval: number;
  /** Milliseconds between configuration checks (0 = never). Default 5000. */
  verifyInterval?: number;
  /** First retry delay after a failure; doubles up to `retryMax`. Default 500. */
  retryInitial?: number;
  /** Longest retry delay. Default 30000. */
  retryMax?: number;
  /**
   * Most service reads in a row while flags stay set. Default 1, enough when polling: a change after
   * the read is latched again and the next poll reads it. With the INT line use more (8): the reads
   * repeat until no flag is left, so a change during servicing is read even if its edge is hidden
   * (an INT shared with another chip); they stop early when they repeat (a held compare-mode pin).
   */
  maxServiceLoops?: number;
}

export interface SupervisorEvents {
  status: [SupervisorStatus];
  input: [InputStep[], ServiceResult];
  restored: [VerifyResult];
  /** A failure worth a log line (the status shows it too). */
  warning: [string];
}

export class ChipSupervisor extends EventEmitter<SupervisorEvents> {
  readonly driver: Mcp23017;
  private readonly options: Required<SupervisorOptions>;
  private readonly tracker = new InputTracker();
  private statusValue: SupervisorStatus = { state: 'starting' };
  private inputWatchers = 0;
  private retryDelay: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private verifyTimer: NodeJS.Timeout | undefined;
  private servicing: Promise<void> | undefined;
  private serviceAgain = false;
  private held = 0;
  private stopped = false;
  private started = false;

  constructor(driver: Mcp23017, options: SupervisorOptions) {
    super();
    this.driver = driver;
    this.options = {
      verifyInterval: 5000,
      retryInitial: 500,
      retryMax: 30000,
      maxServiceLoops: 1,
      ...options,
    };
    this.retryDelay = this.options.retryInitial;
    this.onService = this.onService.bind(this);
    driver.on('service', this.onService);
    driver.on('offline', (error) => this.handleFailure(error));
    // Whoever ran the check (the timer below, or a caller of driver.verify()), a restore is logged.
    driver.on('restored', (result) => {
      this.emit('restored', result);
      this.emit('warning', `${driver.label} lost its configuration (${result.mismatches.slice(0, 3).join('; ')}); restored it`);
    });
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

  /** Opens the chip (on the next tick, so that users created in the same tick have staged their settings). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.retryTimer = setTimeout(() => this.connect(), 0);
  }

  /** Someone wants input changes: polling runs while there is at least one. */
  watchInputs(): void {
    this.inputWatchers++;
    if (this.inputWatchers === 1) this.schedulePoll(0);
  }

  unwatchInputs(): void {
    if (this.inputWatchers === 0) return;
    this.inputWatchers--;
    if (this.inputWatchers === 0 && this.pollTimer) {
      clearTimeout(this.pollTimer);
      this.pollTimer = undefined;
    }
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
        // The driver went offline and reported it; handleFailure schedules the reconnect.
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
    for (const timer of [this.retryTimer, this.pollTimer, this.verifyTimer]) if (timer) clearTimeout(timer);
    this.retryTimer = this.pollTimer = this.verifyTimer = undefined;
    await this.servicing;
    this.driver.off('service', this.onService);
    await this.driver.close();
    this.setStatus({ state: 'stopped' });
    this.removeAllListeners();
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined;
    if (this.stopped) return;
    try {
      await this.driver.open();
    } catch (err) {
      // The first failure also arrives as the driver's offline event, which already scheduled a retry.
      if (!this.retryTimer) this.handleFailure(err as I2cError);
      return;
    }
    if (this.stopped) return;
    this.retryDelay = this.options.retryInitial;
    this.setStatus({ state: 'online' });
    this.scheduleVerify();
    // Take the baseline now, so that the first change after deploy is reported against it.
    await this.serviceNow();
    if (this.inputWatchers > 0) this.schedulePoll(this.options.pollInterval);
  }

  private handleFailure(error: I2cError): void {
    if (this.stopped) return;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.verifyTimer) clearTimeout(this.verifyTimer);
    this.pollTimer = this.verifyTimer = undefined;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, this.options.retryMax);
    const previous = this.statusValue;
    this.setStatus({ state: 'offline', error, retryInMs: delay });
    if (previous.state !== 'offline' || previous.error?.message !== error.message) this.emit('warning', error.message);
    if (!this.retryTimer) this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private schedulePoll(delay: number): void {
    if (this.stopped || this.inputWatchers === 0 || this.options.pollInterval <= 0 && delay > 0) return;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(async () => {
      this.pollTimer = undefined;
      await this.serviceNow();
      if (this.statusValue.state === 'online' && this.options.pollInterval > 0) this.schedulePoll(this.options.pollInterval);
    }, delay);
  }

  private scheduleVerify(): void {
    if (this.stopped || this.options.verifyInterval <= 0) return;
    if (this.verifyTimer) clearTimeout(this.verifyTimer);
    this.verifyTimer = setTimeout(async () => {
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

  private onService(result: ServiceResult): void {
    const d = this.driver;
    this.held = d.getRegister('GPINTEN') & d.getRegister('INTCON') & d.getRegister('IODIR') & (result.current ^ d.getRegister('DEFVAL')) & 0xffff;
    const steps = this.tracker.update(result);
    this.emit('input', steps, result);
  }

  private setStatus(status: SupervisorStatus): void {
    this.statusValue = status;
    this.emit('status', status);
  }
}
