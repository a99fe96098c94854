/**
 * The one order in which register bytes are written to the chip, whatever the reason (opening,
 * restoring after a power glitch, a configuration change, an output write):
 *
 *   1. IOCON           the addressing mode (BANK=0, SEQOP=0) every later block write relies on
 *   2. OLAT            an output starts at its value the moment it becomes an output
 *   3. IPOL, DEFVAL, INTCON, GPPU
 *                      pull-ups and polarity before the direction: a pin turning into an input never
 *                      floats and never reads inverted for a moment
 *   4. IODIR
 *   5. GPINTEN         last: no half-configured pin latches an interrupt
 *
 * Inside a stage, consecutive addresses go in one block write (sequential addressing). A gap made of
 * IOCON's two addresses (both are the one IOCON register) is bridged with its value, which stage 1 has
 * already written, so DEFVAL..GPPU is one 8-byte write instead of two.
 */
import { BANK0 } from './registers';

/** One transaction: `values` written from `register` on. */
export interface PlannedWrite {
  register: number;
  values: number[];
}

const STAGES: readonly (readonly number[])[] = [
  [BANK0.IOCONA, BANK0.IOCONB],
  [BANK0.OLATA, BANK0.OLATB],
  [BANK0.IPOLA, BANK0.IPOLB, BANK0.DEFVALA, BANK0.DEFVALB, BANK0.INTCONA, BANK0.INTCONB, BANK0.GPPUA, BANK0.GPPUB],
  [BANK0.IODIRA, BANK0.IODIRB],
  [BANK0.GPINTENA, BANK0.GPINTENB],
];

/** The stage (0-4) of a BANK=0 address; undefined for the registers that are never written (INTF, INTCAP, GPIO). */
export function writeStage(address: number): number | undefined {
  const stage = STAGES.findIndex((addresses) => addresses.includes(address));
  return stage < 0 ? undefined : stage;
}

/**
 * Orders `bytes` (BANK=0 address -> value) into transactions. `iocon`, when given, may fill the IOCON
 * addresses between two runs of stage 3 (IOCON is written in stage 1 or is unchanged).
 */
export function planWrites(bytes: ReadonlyMap<number, number>, iocon?: number): PlannedWrite[] {
  const plan: PlannedWrite[] = [];
  for (const [index, addresses] of STAGES.entries()) {
    const present = addresses.filter((a) => bytes.has(a)).sort((a, b) => a - b);
    let run: PlannedWrite | undefined;
    let next = -1;
    for (const address of present) {
      if (run && address === next) {
        run.values.push(bytes.get(address) as number);
      } else if (run && index === 2 && iocon !== undefined && canBridge(next, address)) {
        for (let a = next; a < address; a++) run.values.push(iocon);
        run.values.push(bytes.get(address) as number);
      } else {
        run = { register: address, values: [bytes.get(address) as number] };
        plan.push(run);
      }
      next = address + 1;
    }
  }
  return plan;
}

/** Whether every address from `from` up to (not including) `to` is an IOCON address. */
function canBridge(from: number, to: number): boolean {
  if (to <= from) return false;
  for (let a = from; a < to; a++) if (a !== BANK0.IOCONA && a !== BANK0.IOCONB) return false;
  return true;
}
