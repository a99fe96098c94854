/**
 * node-red-contrib-iopi/simulator: datasheet-true simulated MCP23017 chips on simulated I2C buses.
 *
 * - `openPromisified(busNumber)` is a drop-in for i2c-bus 5's `openPromisified`: same methods,
 *   results, argument checks and error shapes, talking to simulated chips instead of /dev/i2c-N.
 * - `chip(busNumber, address)` gives the {@link SimulatedChip} at that place (created at power-on on
 *   first use): drive its pins with `setInput`, watch `pinLevel`, `interruptOutput` and `register`,
 *   listen for `'change'`. `remove` unplugs one chip, `reset` all of them.
 * - Fault injection (./faults.ts): `unplug`/`plugIn` (a chip that disappears and returns, with its
 *   state or at power-on), `injectFault`/`failNth` (EIO, timeout or NACK on chosen transactions),
 *   `SimulatedChip.powerCycle()` (a power glitch), `clearFaults`.
 * - `simulatorBackend` plugs the simulator into the driver and the nodes wherever they take a
 *   {@link Backend}.
 *
 * Chips live in a registry on globalThis, so every loaded copy of this module shares them.
 */
import type { Backend } from '../i2c';
import { openPromisified } from './bus';

export { chip, remove, reset, openPromisified } from './bus';
export type { SimulatedBus } from './bus';
export { SimulatedChip } from './chip';
export {
  unplug, plugIn, isUnplugged, injectFault, failNth, clearFaults, activeFaults,
  type Fault, type FaultOptions, type FaultError, type Transaction, type TransactionMethod, type UnplugOptions,
} from './faults';
export { SimulatedIntLine, type SimulatedIntLineOptions } from './int-line';
export type {
  DriveLevel, InterruptOutputState, InterruptPinName, MessageData, PinLevel, SimulatedChipEvents,
} from './chip';

/** The simulator as a bus backend (the real one is i2c-bus). */
export const simulatorBackend: Backend = { name: 'simulator', open: openPromisified };
