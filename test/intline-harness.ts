/**
 * Test harness for the INT line watcher: the "kernel and hardware" side of the fake libgpiod tools
 * in test/fixtures/fake-gpio (see fake-gpiod.js for the protocol).
 *
 * - Knows the GPIO lines (name -> chip, offset), who holds each one (a line is exclusive: a second
 *   request gets EBUSY), and whether the user may open the chips (EACCES).
 * - Drives line levels: `setDrive(line, 0 | 1 | null)`; `null` = nothing drives it, so the level is
 *   the requested bias (pull-up 1, pull-down 0; disabled/as-is: floating, read as 0).
 * - `followInterrupt` wires a simulated chip's INT output to a line, as a jumper wire would.
 * - Records every request (argv, pid, version) so tests can check the exact command lines.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { InterruptPinName, SimulatedChip } from '../lib/simulator';

/** Where the fake tools live (the tests run from a build folder that may be outside the checkout). */
export function fakeGpioDir(): string {
  const candidates = [
    process.env.IOPI_FAKE_GPIO_DIR,
    path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'fake-gpio'),
    path.resolve(process.cwd(), 'test', 'fixtures', 'fake-gpio'),
  ];
  for (const dir of candidates) if (dir && fs.existsSync(path.join(dir, 'gpiomon'))) return dir;
  throw new Error(`fake gpio tools not found (looked in ${candidates.filter(Boolean).join(', ')}); set IOPI_FAKE_GPIO_DIR`);
}

export type Level = 0 | 1;

export interface ToolMessage {
  op: 'find' | 'request';
  tool: string;
  pid: number;
  argv: string[];
  version: string;
  name?: string;
  chip?: string;
  offset?: number;
  edges?: 'rising' | 'falling' | 'both';
  bias?: 'pull-up' | 'pull-down' | 'disabled' | 'as-is';
  activeLow?: boolean;
}

interface LineInfo {
  name: string;
  chip: string;
  offset: number;
}

interface Holder {
  socket: net.Socket;
  request: ToolMessage;
  sent: Level;
}

export class FakeGpioKernel extends EventEmitter {
  readonly dir: string;
  readonly socketPath: string;
  /** Requests and lookups in arrival order, successful or not. */
  readonly messages: ToolMessage[] = [];
  /** Every tool process that talked to us. */
  readonly pids = new Set<number>();
  /** The user may not open /dev/gpiochip* (not in the gpio group). */
  permissionDenied = false;

  private readonly lines: LineInfo[] = [
    { name: 'ID_SDA', chip: 'gpiochip0', offset: 0 },
    { name: 'GPIO22', chip: 'gpiochip0', offset: 22 },
    { name: 'GPIO23', chip: 'gpiochip0', offset: 23 },
    { name: 'GPIO24', chip: 'gpiochip0', offset: 24 },
  ];
  private readonly drives = new Map<string, Level | null>();
  private readonly holders = new Map<string, Holder>();
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;

  constructor() {
    super();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iopi-gpio-'));
    this.socketPath = path.join(this.dir, 'kernel.sock');
  }

  async start(): Promise<void> {
    this.server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.socketPath, () => resolve());
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Environment for the watcher: the fakes first in PATH, then node (the fakes are node scripts). */
  env(version: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      PATH: [fakeGpioDir(), path.dirname(process.execPath)].join(path.delimiter),
      FAKE_GPIOD_VERSION: version,
      FAKE_GPIOD_SOCKET: this.socketPath,
      ...extra,
    };
  }

  requests(): ToolMessage[] {
    return this.messages.filter((m) => m.op === 'request');
  }

  finds(): ToolMessage[] {
    return this.messages.filter((m) => m.op === 'find');
  }

  /** The request currently holding a line. */
  holder(name: string): ToolMessage | undefined {
    return this.holders.get(this.info(name).name)?.request;
  }

  /** Resolves when someone holds the line (now or later). */
  waitForHolder(name: string): Promise<ToolMessage> {
    const held = this.holder(name);
    if (held) return Promise.resolve(held);
    return new Promise((resolve) => {
      const onHeld = (line: string, request: ToolMessage) => {
        if (line !== name) return;
        this.off('held', onHeld);
        resolve(request);
      };
      this.on('held', onHeld);
    });
  }

  /** Resolves when the line is released. */
  waitForRelease(name: string): Promise<void> {
    if (!this.holder(name)) return Promise.resolve();
    return new Promise((resolve) => {
      const onReleased = (line: string) => {
        if (line !== name) return;
        this.off('released', onReleased);
        resolve();
      };
      this.on('released', onReleased);
    });
  }

  /** Drives a line from outside: 0, 1, or null (released: the bias decides). */
  setDrive(name: string, drive: Level | null): void {
    this.drives.set(this.info(name).name, drive);
    this.update(name);
  }

  /** The level the line has now (with the holder's bias). */
  level(name: string): Level {
    const drive = this.drives.get(name) ?? null;
    if (drive !== null) return drive;
    const bias = this.holders.get(name)?.request.bias;
    return bias === 'pull-up' ? 1 : 0; // pull-down, disabled, as-is: floating, read as 0 (our choice)
  }

  /** Makes the holder of a line fail (gpiomon: "error waiting for events: ..."), as a kernel error would. */
  failHolder(name: string, message = 'error waiting for events', errno = 'EIO'): void {
    const holder = this.holders.get(name);
    if (!holder) throw new Error(`nobody holds ${name}`);
    holder.socket.write(`${JSON.stringify({ op: 'die', message, errno })}\n`);
  }

  /**
   * Wires a simulated chip's INT output (INTA or INTB) to a line: high impedance releases it (the
   * bias, normally the Pi's pull-up, decides), 0/1 drive it. Returns the function that unwires it.
   */
  followInterrupt(chip: SimulatedChip, pin: InterruptPinName, name: string): () => void {
    const follow = () => this.setDrive(name, chip.interruptOutput(pin));
    chip.on('change', follow);
    follow();
    return () => chip.off('change', follow);
  }

  private info(name: string): LineInfo {
    const info = this.lines.find((l) => l.name === name);
    if (!info) throw new Error(`no line ${name} in the fake kernel`);
    return info;
  }

  private update(name: string): void {
    const holder = this.holders.get(name);
    if (!holder) return;
    const level = this.level(name);
    if (level === holder.sent) return;
    holder.sent = level;
    holder.socket.write(`${level}\n`);
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    let buffered = '';
    let held: string | undefined;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const message = JSON.parse(line) as ToolMessage;
        this.messages.push(message);
        this.pids.add(message.pid);
        const reply = this.handle(message, socket);
        if (reply.ok && message.op === 'request') held = reply.name as string;
        socket.write(`${JSON.stringify(reply)}\n`);
        if (reply.ok && message.op === 'request') this.emit('held', held, message);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (held && this.holders.get(held)?.socket === socket) {
        this.holders.delete(held);
        this.emit('released', held);
      }
    });
  }

  private handle(message: ToolMessage, socket: net.Socket): Record<string, unknown> {
    if (this.permissionDenied) return { ok: false, errno: 'EACCES' };
    let info: LineInfo | undefined;
    if (message.op === 'find' || (message.name !== undefined && message.offset === undefined)) {
      info = this.lines.find((l) => l.name === message.name && (message.chip === undefined || l.chip === message.chip));
    } else {
      const chip = message.chip?.replace(/^\/dev\//, '');
      const chipName = chip !== undefined && /^\d+$/.test(chip) ? `gpiochip${chip}` : chip;
      if (!this.lines.some((l) => l.chip === chipName)) return { ok: false, errno: 'ENOENT' };
      info = this.lines.find((l) => l.chip === chipName && l.offset === message.offset) ?? { name: '', chip: chipName!, offset: message.offset! };
    }
    if (!info) return { ok: false, errno: 'ENOENT' };
    if (message.op === 'find') return { ok: true, chip: info.chip, offset: info.offset, name: info.name };
    if (this.holders.has(info.name)) return { ok: false, errno: 'EBUSY', chip: info.chip };
    const holder: Holder = { socket, request: message, sent: 0 };
    this.holders.set(info.name, holder);
    holder.sent = this.level(info.name);
    return { ok: true, chip: info.chip, offset: info.offset, name: info.name, level: holder.sent };
  }
}

/** Process ids of this process's children that run a fake gpio tool (alive or not yet reaped). */
export function fakeToolProcesses(): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('fake-gpio')) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Whether a process id is still in the process table. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Resolves with the first event `name` of `emitter` whose arguments satisfy `test`. */
export function waitFor<T extends unknown[]>(
  emitter: { on(name: string, fn: (...args: T) => void): unknown; off(name: string, fn: (...args: T) => void): unknown },
  name: string,
  test: (...args: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve) => {
    const fn = (...args: T) => {
      if (!test(...args)) return;
      emitter.off(name, fn);
      resolve(args);
    };
    emitter.on(name, fn);
  });
}

/** Resolves when `check()` holds, re-checked on every 'change' of the chip. */
export function untilChip(chip: SimulatedChip, check: () => boolean): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve) => {
    const fn = () => {
      if (!check()) return;
      chip.off('change', fn);
      resolve();
    };
    chip.on('change', fn);
  });
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
