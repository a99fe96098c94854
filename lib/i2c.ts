/**
 * The part of i2c-bus 5's promisified bus that we use. The real addon and the simulator both provide
 * it, so every line of the driver and the transport runs the same on a Pi and in a test.
 */
export interface BlockRead {
  bytesRead: number;
  buffer: Buffer;
}
export interface BlockWrite {
  bytesWritten: number;
  buffer: Buffer;
}

export interface I2cBus {
  readByte(address: number, command: number): Promise<number>;
  writeByte(address: number, command: number, byte: number): Promise<void>;
  readWord(address: number, command: number): Promise<number>;
  writeWord(address: number, command: number, word: number): Promise<void>;
  readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<BlockRead>;
  writeI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<BlockWrite>;
  i2cRead(address: number, length: number, buffer: Buffer): Promise<BlockRead>;
  i2cWrite(address: number, length: number, buffer: Buffer): Promise<BlockWrite>;
  close(): Promise<void>;
}

/** Opens bus N: i2c-bus's `openPromisified` or the simulator's. */
export type BusOpener = (busNumber: number) => Promise<I2cBus>;

/** Where a transport gets its bus from. `name` keeps real and simulated buses apart in the registry. */
export interface Backend {
  readonly name: string;
  readonly open: BusOpener;
}

let realBackend: Backend | undefined;

/**
 * The real i2c-bus addon, loaded on first use so that the package (and the simulator) still loads on a
 * machine where the native build failed; the error then says how to fix it.
 */
export function i2cBusBackend(): Backend {
  if (!realBackend) {
    realBackend = {
      name: 'i2c-bus',
      open: async (busNumber: number) => {
        let mod: { openPromisified(bus: number, options?: { forceAccess?: boolean }): Promise<unknown> };
        try {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          mod = require('i2c-bus');
        } catch (err) {
          throw Object.assign(
            new Error(`the i2c-bus native module could not be loaded (${(err as Error).message}); run "npm rebuild i2c-bus"`),
            { cause: err },
          );
        }
        return (await mod.openPromisified(busNumber)) as I2cBus;
      },
    };
  }
  return realBackend;
}
