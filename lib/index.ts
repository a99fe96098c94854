/**
 * node-red-contrib-iopi's library: usable without Node-RED.
 *
 *   const { Mcp23017, i2cBusBackend } = require('node-red-contrib-iopi');
 *   const chip = new Mcp23017({ busNumber: 1, address: 0x20, backend: i2cBusBackend() });
 *   await chip.open();
 *   await chip.setPinDirection(1, 0);
 *   await chip.writePin(1, 1);
 */
export * from './registers';
export * from './pins';
export * from './errors';
export * from './i2c';
export { Transport, DEFAULT_RETRY_POLICY, type TransportStats, type RetryPolicy, type RetryEvent, type TransportOptions } from './transport';
export * from './driver';
export * from './inputs';
export * from './debounce';
export * from './supervisor';
export * from './clock';
export * from './claims';
export * from './chip-hub';
export * from './register-state';
export * from './write-plan';
export * from './int-line';
export * from './int-line-service';
