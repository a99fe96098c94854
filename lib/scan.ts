/**
 * Bus scan: which MCP23017 addresses (0x20-0x27) answer on an I2C bus.
 *
 * Each address is probed with one SMBus read of IODIRA (register 0x00), a read without side effects on
 * an MCP23017 (unlike a plain receive byte, which reads whatever the address pointer points at, maybe
 * INTCAP or GPIO, clearing an interrupt). Every probe has a timeout and queues on the bus's shared
 * transport, released again at the end (which closes the bus if no chip uses it).
 * The same code scans the simulator (its registry of plugged-in chips, faults included) and a real
 * bus, through a {@link Backend}.
 */
import { I2cError, type I2cErrorKind } from './errors';
import type { Backend } from './i2c';
import { Transport } from './transport';

/**
 * Errors of a probe that mean "no chip to use at this address", not "this bus cannot be scanned"
 * (busy: a kernel driver, e.g. the mcp23017 overlay, has the address).
 */
const NOTHING_THERE: ReadonlySet<I2cErrorKind> = new Set<I2cErrorKind>(['absent', 'io', 'timeout', 'busy']);

export const SCAN_FIRST = 0x20;
export const SCAN_LAST = 0x27;

export interface ScanOptions {
  /** Milliseconds to wait for each probe (default 250). */
  probeTimeoutMs?: number;
}

export interface ScanResult {
  busNumber: number;
  /** Addresses that acknowledged, ascending. */
  addresses: number[];
}

/** An error opening the bus, with its errno code when it has one (ENOENT: no such bus, EACCES...). */
export class ScanError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'ScanError';
    this.code = code;
  }
}

function openError(busNumber: number, err: unknown): ScanError {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' && e.code ? e.code : undefined;
  const why = code === 'ENOENT' || code === 'ENXIO' ? `no I2C bus /dev/i2c-${busNumber}`
    : code === 'EACCES' || code === 'EPERM' ? `no permission to open /dev/i2c-${busNumber}`
      : `cannot open /dev/i2c-${busNumber}`;
  return new ScanError(`${why}${e?.message ? ` (${e.message})` : ''}`, code);
}

class ProbeTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ProbeTimeout(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => { clearTimeout(timer); resolve(value); },
      (err: unknown) => { clearTimeout(timer); reject(err); },
    );
  });
}

/**
 * Scans bus `busNumber` (an integer 0-255) for MCP23017 addresses. Rejects with a {@link ScanError} when
 * the bus cannot be opened (no such bus, no permission).
 *
 * The probes go through the bus's shared {@link Transport}: on a bus whose chips are in use they queue
 * behind those chips' transactions instead of interleaving with them, and reuse the open bus.
 */
export async function scanBus(backend: Backend, busNumber: number, options: ScanOptions = {}): Promise<ScanResult> {
  if (typeof busNumber !== 'number' || !Number.isInteger(busNumber) || busNumber < 0 || busNumber > 255) {
    throw new RangeError(`busNumber must be an integer from 0 to 255 (got ${String(busNumber)})`);
  }
  const timeout = options.probeTimeoutMs ?? 250;
  const transport = Transport.acquire(busNumber, backend);
  const addresses: number[] = [];
  try {
    // One at a time: a bus is a shared wire, and probes are quick (about 0.2 ms each at 100 kHz).
    for (let address = SCAN_FIRST; address <= SCAN_LAST; address++) {
      try {
        await withTimeout(transport.readByte(address, 0x00), timeout);
        addresses.push(address);
      } catch (err) {
        // No acknowledge, an I/O error or no answer in time: nothing usable there. Anything else (no such
        // bus, no permission, the i2c-bus addon not loadable, ...) would fail every probe the same way, as
        // i2c-bus opens /dev/i2c-N lazily at the first transfer: say so once.
        if (err instanceof ProbeTimeout || (err instanceof I2cError && NOTHING_THERE.has(err.kind))) continue;
        throw openError(busNumber, err instanceof I2cError ? err.cause ?? err : err);
      }
    }
  } finally {
    await transport.release();
  }
  return { busNumber, addresses };
}
