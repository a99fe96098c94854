/**
 * I2C errors, classified by errno so that the message names what happened, where, and what to do.
 *
 * i2c-bus reports the same failure in two shapes: its SMBus calls give `errno` 121 with an empty
 * `code` (Nan's errno table lacks EREMOTEIO), plain reads/writes give Node's `EREMOTEIO` with errno
 * -121. So we classify by `Math.abs(err.errno)`, never by `err.code`.
 */
import { hex } from './registers';

export type I2cErrorKind = 'absent' | 'no-bus' | 'io' | 'timeout' | 'permission' | 'busy' | 'unknown';

const ERRNO_KIND: Record<number, I2cErrorKind> = {
  121: 'absent', // EREMOTEIO: the address was not acknowledged
  6: 'absent', // ENXIO: some adapters report a NACK this way
  2: 'no-bus', // ENOENT: /dev/i2c-N does not exist
  19: 'no-bus', // ENODEV
  5: 'io', // EIO
  110: 'timeout', // ETIMEDOUT
  13: 'permission', // EACCES
  1: 'permission', // EPERM
  16: 'busy', // EBUSY
};

/** Kind of an error thrown by i2c-bus (or the simulator, which throws the same shapes). */
export function classifyI2cError(err: unknown): I2cErrorKind {
  const errno = (err as { errno?: unknown } | null)?.errno;
  if (typeof errno === 'number') return ERRNO_KIND[Math.abs(errno)] ?? 'unknown';
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'EREMOTEIO' || code === 'ENXIO') return 'absent';
  if (code === 'ENOENT') return 'no-bus';
  return 'unknown';
}

const REASON: Record<I2cErrorKind, string> = {
  absent: 'Remote I/O error',
  'no-bus': 'no such bus',
  io: 'Input/output error',
  timeout: 'timed out',
  permission: 'permission denied',
  busy: 'device busy',
  unknown: 'error',
};

/** An I2C failure at one chip: `kind` says what, `bus` and `address` say where, `cause` is the original. */
export class I2cError extends Error {
  readonly kind: I2cErrorKind;
  readonly bus: number;
  readonly address: number;
  readonly errno: number | undefined;
  override readonly cause: unknown;

  constructor(kind: I2cErrorKind, bus: number, address: number, cause: unknown, what?: string) {
    super(I2cError.message(kind, bus, address, cause, what));
    this.name = 'I2cError';
    this.kind = kind;
    this.bus = bus;
    this.address = address;
    this.cause = cause;
    const errno = (cause as { errno?: unknown } | null)?.errno;
    this.errno = typeof errno === 'number' ? Math.abs(errno) : undefined;
  }

  private static message(kind: I2cErrorKind, bus: number, address: number, cause: unknown, what?: string): string {
    const device = `/dev/i2c-${bus}`;
    const at = `${hex(address)} on ${device}`;
    const detail = what ? ` while ${what}` : '';
    switch (kind) {
      case 'absent':
        return `no device at ${at} (Remote I/O error)`;
      case 'no-bus':
        return `no I2C bus ${device} (enable I2C, e.g. with raspi-config)`;
      case 'permission':
        return `permission denied on ${device} (add the user to the i2c group)`;
      case 'timeout':
        return `I2C timeout at ${at}${detail}`;
      case 'io':
        return `I2C I/O error at ${at}${detail}`;
      case 'busy':
        return `${device} is busy at ${hex(address)}`;
      default: {
        const text = cause instanceof Error ? cause.message.replace(/^,\s*/, '') : String(cause);
        return `I2C error at ${at}${detail}: ${text || REASON[kind]}`;
      }
    }
  }
}

/** Wraps anything thrown by an I2C call into an {@link I2cError} (kept as is if it already is one). */
export function toI2cError(err: unknown, bus: number, address: number, what?: string): I2cError {
  if (err instanceof I2cError) return err;
  return new I2cError(classifyI2cError(err), bus, address, err, what);
}
