/**
 * A simulated Raspberry Pi GPIO watching a simulated chip's INT output: what gpiomon does on a Pi,
 * for a chip that only exists in the simulator. It follows the chip's INTA (or INTB) level, applies
 * the Pi's pull-up to a high-impedance (open-drain, idle) output, and reports the chosen edges,
 * each on the next turn of the event loop as a pipe from gpiomon would.
 *
 * It has the shape of {@link IntLineWatcher} that `attachIntLine` needs (status, `edge` and
 * `status` events, start, stop), so the INT-line mode of the nodes runs unchanged on the simulator.
 */
import { EventEmitter } from 'node:events';
import type { IntLineEdge, IntLineEdgeMode, IntLineEvents, IntLineStatus } from '../int-line';
import { chip as simulatedChip } from './bus';
import type { InterruptPinName, SimulatedChip } from './chip';

export interface SimulatedIntLineOptions {
  busNumber: number;
  address: number;
  /** Which INT pin is wired to the GPIO (with MIRROR either carries both ports). Default 'A'. */
  pin?: InterruptPinName;
  /** Default 'falling'. */
  edge?: IntLineEdgeMode;
  /** The Pi's pull-up on the line: a high-impedance output reads 1 (else 0). Default true. */
  pullUp?: boolean;
}

export class SimulatedIntLine extends EventEmitter<IntLineEvents> {
  readonly line: string;
  private readonly chip: SimulatedChip;
  private readonly pin: InterruptPinName;
  private readonly edge: IntLineEdgeMode;
  private readonly pullUp: boolean;
  private level: 0 | 1 = 1;
  private statusValue: IntLineStatus = { state: 'starting', message: 'simulated INT line' };
  private readonly onChange = () => this.sample();
  private pending = new Set<NodeJS.Immediate>();
  private started = false;
  private stopped = false;

  constructor(options: SimulatedIntLineOptions) {
    super();
    this.chip = simulatedChip(options.busNumber, options.address);
    this.pin = options.pin ?? 'A';
    this.edge = options.edge ?? 'falling';
    this.pullUp = options.pullUp ?? true;
    this.line = `simulated INT${this.pin}`;
  }

  get status(): IntLineStatus {
    return this.statusValue;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.level = this.read();
    this.chip.on('change', this.onChange);
    this.setStatus({ state: 'watching', message: `watching ${this.line}` });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.chip.off('change', this.onChange);
    for (const immediate of this.pending) clearImmediate(immediate);
    this.pending.clear();
    this.setStatus({ state: 'stopped', message: 'stopped' });
    this.removeAllListeners();
  }

  private read(): 0 | 1 {
    const out = this.chip.interruptOutput(this.pin);
    return out === null ? (this.pullUp ? 1 : 0) : out;
  }

  private sample(): void {
    const level = this.read();
    if (level === this.level) return;
    this.level = level;
    const edge: IntLineEdge['edge'] = level === 1 ? 'rising' : 'falling';
    if (this.edge !== 'both' && this.edge !== edge) return;
    const now = process.hrtime();
    const immediate = setImmediate(() => {
      this.pending.delete(immediate);
      if (!this.stopped) this.emit('edge', { edge, offset: 0, sec: now[0], nsec: now[1] });
    });
    this.pending.add(immediate);
  }

  private setStatus(status: IntLineStatus): void {
    this.statusValue = status;
    this.emit('status', status);
  }
}
