/**
 * The Node side of the virtual /dev/i2c-N: serves the LD_PRELOAD shim (native/iopi-i2c-shim.c) raw
 * I2C messages from simulated MCP23017 chips, and a line-based control socket.
 *
 * Data socket (IOPI_SIM_SOCKET), one connection per open /dev/i2c-N, requests answered in order
 * (little-endian; the same layout is documented in the shim's header):
 *   frame   = u32 payload length, payload
 *   request = u8 op; 1 HELLO: u32 bus; 2 XFER: u16 count, count x (u16 addr, u16 flags, u16 len,
 *             then len data bytes unless flags has I2C_M_RD)
 *   reply   = i32 status (0 or a message count: ok; negative: -errno), then per read message
 *             u16 len + data
 * HELLO answers -ENOENT for a bus this server does not have. A message to an address without a chip
 * NACKs: the transfer stops there with -EREMOTEIO (earlier messages have acted, as on a real bus).
 * I2C_M_RECV_LEN reads the count byte first (1-32, else -EPROTO), then that many more bytes.
 *
 * Control socket (IOPI_SIM_CONTROL): one command per line, one answer line per command.
 *   set BUS ADDR PIN 0|1|float   drive pin 1-16 low/high or release it             → ok
 *   dump BUS ADDR                the 22 registers, BANK=0 order, hex, no side effects → "ff ff 00 …"
 *   int BUS ADDR                 INTA and INTB levels (0, 1 or z for high-impedance)   → "1 1"
 *   add BUS ADDR                 plug a chip in (power-on state; the bus is created if new) → ok
 *   remove BUS ADDR              unplug a chip (it NACKs from now on)                → ok
 *   anything else                                                                     → error <reason>
 * ADDR is 0x20-0x27 written as 0x20 or 32; BUS an integer >= 0.
 *
 * The server is single-threaded JavaScript: each transfer runs to completion before the next, so a
 * combined transfer is atomic, like one holding the adapter lock.
 */
import fs from 'node:fs';
import net from 'node:net';
import { SimulatedChip } from '../simulator';

export const OP_HELLO = 1;
export const OP_XFER = 2;
export const I2C_M_RD = 0x0001;
export const I2C_M_TEN = 0x0010;
export const I2C_M_RECV_LEN = 0x0400;

const ENOENT = 2;
const EIO = 5;
const EINVAL = 22;
const EPROTO = 71;
const EREMOTEIO = 121;

const SMBUS_BLOCK_MAX = 32;
const MAX_FRAME = 1 << 20;

/** MCP23017 addresses: 0b0100 A2 A1 A0. */
export const FIRST_ADDRESS = 0x20;
export const LAST_ADDRESS = 0x27;

/** Buses and the chip addresses on each: `{1: [0x20, 0x21]}`. */
export type BusLayout = Record<number, readonly number[]>;

/** The IO Pi Plus: two MCP23017 at 0x20 and 0x21 on bus 1. */
export const DEFAULT_LAYOUT: BusLayout = { 1: [0x20, 0x21] };

export class ControlError extends Error {}

/** Parses an address as 0x20 or 32; must be an MCP23017 address (0x20-0x27). */
export function parseAddress(text: string): number {
  const t = text.trim();
  const value = /^0x[0-9a-f]{1,2}$/i.test(t) ? parseInt(t.slice(2), 16) : /^[0-9]{1,3}$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(value)) throw new ControlError(`bad address "${text}" (write 0x20 or 32)`);
  if (value < FIRST_ADDRESS || value > LAST_ADDRESS) {
    throw new ControlError(`address 0x${value.toString(16)} is not an MCP23017 address (0x20-0x27)`);
  }
  return value;
}

/** Parses a bus number: an integer 0-1048575. */
export function parseBus(text: string): number {
  const t = text.trim();
  if (!/^[0-9]{1,7}$/.test(t) || Number(t) > 0xfffff) throw new ControlError(`bad bus number "${text}"`);
  return Number(t);
}

const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

export class VirtualI2cServer {
  /** bus → address → chip. */
  private readonly buses = new Map<number, Map<number, SimulatedChip>>();
  private dataServer: net.Server | undefined;
  private controlServer: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly paths: string[] = [];

  constructor(layout: BusLayout = DEFAULT_LAYOUT) {
    for (const [bus, addresses] of Object.entries(layout)) {
      const busNumber = parseBus(String(bus));
      const chips = this.bus(busNumber);
      for (const address of addresses) {
        if (!Number.isInteger(address) || address < FIRST_ADDRESS || address > LAST_ADDRESS) {
          throw new ControlError(`address ${String(address)} is not an MCP23017 address (0x20-0x27)`);
        }
        chips.set(address, new SimulatedChip(busNumber, address));
      }
    }
  }

  private bus(busNumber: number): Map<number, SimulatedChip> {
    let chips = this.buses.get(busNumber);
    if (!chips) {
      chips = new Map();
      this.buses.set(busNumber, chips);
    }
    return chips;
  }

  /** The chip at a place, if one is plugged in. */
  chip(busNumber: number, address: number): SimulatedChip | undefined {
    return this.buses.get(busNumber)?.get(address);
  }

  /** The bus layout now: bus → sorted addresses. */
  layout(): Record<number, number[]> {
    const out: Record<number, number[]> = {};
    for (const [bus, chips] of this.buses) out[bus] = [...chips.keys()].sort((a, b) => a - b);
    return out;
  }

  /** Starts listening on the data socket and the control socket (paths are unlinked first and on close). */
  async listen(dataPath: string, controlPath: string): Promise<void> {
    this.dataServer = await this.serve(dataPath, (socket) => this.serveData(socket));
    this.controlServer = await this.serve(controlPath, (socket) => this.serveControl(socket));
  }

  private serve(socketPath: string, handler: (socket: net.Socket) => void): Promise<net.Server> {
    fs.rmSync(socketPath, { force: true });
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      handler(socket);
    });
    this.paths.push(socketPath);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([this.dataServer, this.controlServer].map((s) => (s ? new Promise<void>((r) => s.close(() => r())) : undefined)));
    this.dataServer = this.controlServer = undefined;
    for (const p of this.paths.splice(0)) fs.rmSync(p, { force: true });
  }

  // ---------------------------------------------------------------------------------------------
  // Data side

  private serveData(socket: net.Socket): void {
    let pending: Buffer = Buffer.alloc(0);
    let busNumber: number | undefined;
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      const replies: Buffer[] = [];
      while (pending.length >= 4) {
        const size = pending.readUInt32LE(0);
        if (size > MAX_FRAME) {
          socket.destroy();
          return;
        }
        if (pending.length < 4 + size) break;
        const payload = pending.subarray(4, 4 + size);
        pending = pending.subarray(4 + size);
        let reply: Buffer;
        if (payload[0] === OP_HELLO && payload.length >= 5) {
          const requested = payload.readUInt32LE(1);
          if (this.buses.has(requested)) {
            busNumber = requested;
            reply = status(0);
          } else {
            reply = status(-ENOENT);
          }
        } else if (payload[0] === OP_XFER && busNumber !== undefined) {
          reply = this.transfer(busNumber, payload);
        } else {
          reply = status(-EINVAL);
        }
        const head = Buffer.alloc(4);
        head.writeUInt32LE(reply.length, 0);
        replies.push(head, reply);
      }
      if (replies.length) socket.write(Buffer.concat(replies));
    });
  }

  /** One combined transfer (i2c_transfer): the messages in order, stopping at the first NACK. */
  transfer(busNumber: number, payload: Buffer): Buffer {
    interface Message { addr: number; flags: number; len: number; data?: Buffer }
    const messages: Message[] = [];
    let at = 1;
    if (payload.length < 3) return status(-EINVAL);
    const count = payload.readUInt16LE(at);
    at += 2;
    for (let i = 0; i < count; i++) {
      if (payload.length < at + 6) return status(-EINVAL);
      const addr = payload.readUInt16LE(at);
      const flags = payload.readUInt16LE(at + 2);
      const len = payload.readUInt16LE(at + 4);
      at += 6;
      let data: Buffer | undefined;
      if (!(flags & I2C_M_RD)) {
        if (payload.length < at + len) return status(-EINVAL);
        data = payload.subarray(at, at + len);
        at += len;
      }
      messages.push({ addr, flags, len, data });
    }
    const chips = this.buses.get(busNumber);
    if (!chips) return status(-EIO);
    // Every chip the transfer touches groups its messages into one operation ('change' once).
    const touched = [...new Set(messages.map((m) => (m.flags & I2C_M_TEN ? undefined : chips.get(m.addr))))]
      .filter((c): c is SimulatedChip => c !== undefined);
    const reads: Buffer[] = [];
    const run = (): number => {
      for (const m of messages) {
        const target = m.flags & I2C_M_TEN ? undefined : chips.get(m.addr);
        if (!target) return -EREMOTEIO; // no ACK for the address byte
        if (!(m.flags & I2C_M_RD)) {
          target.writeMessage(m.data!);
          continue;
        }
        let data: Buffer;
        if (m.flags & I2C_M_RECV_LEN) {
          const first = target.readMessage(1);
          const n = first[0];
          if (n === 0 || n > SMBUS_BLOCK_MAX) return -EPROTO;
          data = Buffer.concat([first, target.readMessage(m.len - 1 + n)]);
        } else {
          data = target.readMessage(m.len);
        }
        const head = Buffer.alloc(2);
        head.writeUInt16LE(data.length, 0);
        reads.push(head, data);
      }
      return messages.length;
    };
    const result = touched.reduce<() => number>((inner, c) => () => c.transaction(inner), run)();
    return result < 0 ? status(result) : Buffer.concat([status(result), ...reads]);
  }

  // ---------------------------------------------------------------------------------------------
  // Control side

  private serveControl(socket: net.Socket): void {
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      if (pending.length > 65536) {
        socket.end('error line too long\n');
        return;
      }
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        socket.write(this.command(line) + '\n');
      }
    });
  }

  /** Runs one control command line and returns the answer line (without newline). */
  command(line: string): string {
    try {
      const words = line.trim().split(/\s+/).filter(Boolean);
      if (words.length === 0) throw new ControlError('empty command');
      const [verb, ...args] = words;
      const place = (expected: number, usage: string) => {
        if (args.length !== expected) throw new ControlError(`usage: ${usage}`);
        return { bus: parseBus(args[0]), address: parseAddress(args[1]) };
      };
      const present = (bus: number, address: number) => {
        const c = this.chip(bus, address);
        if (!c) throw new ControlError(`no chip at ${hex(address)} on bus ${bus}`);
        return c;
      };
      switch (verb.toLowerCase()) {
        case 'set': {
          const { bus, address } = place(4, 'set BUS ADDR PIN 0|1|float');
          const c = present(bus, address);
          const pin = /^[0-9]{1,2}$/.test(args[2]) ? Number(args[2]) : NaN;
          if (!(pin >= 1 && pin <= 16)) throw new ControlError(`bad pin "${args[2]}" (1-16)`);
          const level = args[3].toLowerCase();
          if (level !== '0' && level !== '1' && level !== 'float') throw new ControlError(`bad level "${args[3]}" (0, 1 or float)`);
          c.setInput(pin, level === 'float' ? null : level === '1' ? 1 : 0);
          return 'ok';
        }
        case 'dump': {
          const { bus, address } = place(2, 'dump BUS ADDR');
          const c = present(bus, address);
          return Array.from({ length: 22 }, (_, reg) => c.register(reg).toString(16).padStart(2, '0')).join(' ');
        }
        case 'int': {
          const { bus, address } = place(2, 'int BUS ADDR');
          const c = present(bus, address);
          const show = (v: 0 | 1 | null) => (v === null ? 'z' : String(v));
          return `${show(c.interruptOutput('A'))} ${show(c.interruptOutput('B'))}`;
        }
        case 'add': {
          const { bus, address } = place(2, 'add BUS ADDR');
          if (this.chip(bus, address)) throw new ControlError(`a chip is already at ${hex(address)} on bus ${bus}`);
          this.bus(bus).set(address, new SimulatedChip(bus, address));
          return 'ok';
        }
        case 'remove': {
          const { bus, address } = place(2, 'remove BUS ADDR');
          present(bus, address);
          this.buses.get(bus)!.delete(address);
          return 'ok';
        }
        default:
          throw new ControlError(`unknown command "${verb}" (set, dump, int, add, remove)`);
      }
    } catch (err) {
      const text = err instanceof ControlError ? err.message : `internal: ${(err as Error).message}`;
      return `error ${text.replace(/[\r\n]+/g, ' ')}`;
    }
  }
}

function status(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value, 0);
  return b;
}
