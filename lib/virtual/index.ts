/**
 * A virtual IO Pi for any Linux program: simulated MCP23017 chips behind /dev/i2c-N, reached through
 * the LD_PRELOAD shim native/iopi-i2c-shim.c (built to <dist>/native/libiopi-i2c-shim.so).
 *
 * - {@link startVirtualI2c} runs the simulator server in its own child process (so a client in this
 *   process may even use i2c-bus's *Sync calls without deadlocking) and gives the environment to run
 *   programs with: `spawn(cmd, args, {env: {...process.env, ...v.env}})`.
 * - `iopi-sim run … -- COMMAND` (./cli.ts) does the same for a command line.
 * - {@link virtualI2cSupport} says whether this machine can do it, and why not.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_LAYOUT, type BusLayout } from './server';

export { VirtualI2cServer, DEFAULT_LAYOUT, parseAddress, parseBus, type BusLayout } from './server';

/** Environment variables of the virtual bus. */
export const SOCKET_ENV = 'IOPI_SIM_SOCKET';
export const CONTROL_ENV = 'IOPI_SIM_CONTROL';
/** Overrides where the shim library is looked for. */
export const SHIM_ENV = 'IOPI_SIM_SHIM';
export const SHIM_NAME = 'libiopi-i2c-shim.so';

/** Where the built shim is expected: IOPI_SIM_SHIM, else <dist>/native/libiopi-i2c-shim.so. */
export function shimPath(): string {
  return process.env[SHIM_ENV] ? path.resolve(process.env[SHIM_ENV]!) : path.resolve(__dirname, '..', '..', 'native', SHIM_NAME);
}

export type Support = { ok: true; shim: string } | { ok: false; reason: string };

/** The glibc version Node runs on, or undefined (musl, or not Linux). */
function glibcVersion(): string | undefined {
  try {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    return report?.header?.glibcVersionRuntime;
  } catch {
    return undefined;
  }
}

/** Whether the virtual bus can work here: Linux, glibc, x86_64 or aarch64, and the shim built. */
export function virtualI2cSupport(shim = shimPath()): Support {
  if (process.platform !== 'linux') {
    return { ok: false, reason: `the virtual I2C bus needs Linux (this is ${process.platform} ${process.arch}): it works by preloading a library into glibc programs` };
  }
  if (process.arch !== 'x64' && process.arch !== 'arm64') {
    return { ok: false, reason: `the virtual I2C bus supports x86_64 and aarch64 Linux only (this is ${process.arch})` };
  }
  if (!glibcVersion()) {
    return { ok: false, reason: 'the virtual I2C bus needs a glibc Linux (this looks like musl, e.g. Alpine): LD_PRELOAD interposition of open/ioctl/read/write is only done for glibc' };
  }
  if (!fs.existsSync(shim)) {
    return {
      ok: false,
      reason:
        `the i2c-dev shim is not built (${shim} is missing). It is compiled from native/iopi-i2c-shim.c when a C compiler is present: ` +
        'install one (Debian/Raspberry Pi OS: sudo apt-get install gcc libc6-dev), then run "node scripts/build-shim.js" in the package directory ' +
        `(or point ${SHIM_ENV} at a built ${SHIM_NAME})`,
    };
  }
  return { ok: true, shim };
}

/** LD_PRELOAD with the shim first, keeping what was there (minus older copies of the shim). */
export function preloadWith(shim: string, existing = process.env.LD_PRELOAD): string {
  const rest = (existing ?? '').split(/[:\s]+/).filter((p) => p && !p.endsWith(SHIM_NAME));
  return [shim, ...rest].join(':');
}

/** The environment a program needs to see the virtual buses. */
export function clientEnv(shim: string, socketPath: string, controlPath: string): Record<string, string> {
  return {
    LD_PRELOAD: preloadWith(shim),
    [SOCKET_ENV]: socketPath,
    [CONTROL_ENV]: controlPath,
    UV_USE_IO_URING: '0',
  };
}

/** A fresh private directory for the two sockets. */
export function socketDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'iopi-sim-'));
}

/** Sends one control command line and resolves with the answer line. */
export function controlRequest(controlPath: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    if (/[\r\n]/.test(command)) {
      reject(new Error('a control command is a single line'));
      return;
    }
    const socket = net.connect(controlPath);
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`control command "${command}" got no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(command + '\n'));
    socket.on('data', (chunk: string) => {
      answer += chunk;
      const nl = answer.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        socket.end();
        resolve(answer.slice(0, nl));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export interface VirtualI2cOptions {
  /** Buses and chip addresses; default `{1: [0x20, 0x21]}` (one IO Pi Plus). */
  buses?: BusLayout;
  /** The shim library; default {@link shimPath}. */
  shim?: string;
}

export interface VirtualI2c {
  /** Add to a child's environment: LD_PRELOAD, IOPI_SIM_SOCKET, IOPI_SIM_CONTROL, UV_USE_IO_URING. */
  readonly env: Record<string, string>;
  /** One control command (see ./server.ts): `set 1 0x20 3 0` → `ok`. */
  control(command: string): Promise<string>;
  /** Process id of the server (a test can stop it with SIGSTOP to model a bus that hangs). */
  readonly pid: number | undefined;
  /** Stops the server process and removes its sockets. */
  stop(): Promise<void>;
}

/** Environment for the server process: nothing of a virtual bus the caller may itself run under. */
function serverEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  const preload = (env.LD_PRELOAD ?? '').split(/[:\s]+/).filter((p) => p && !p.endsWith(SHIM_NAME)).join(':');
  if (preload) env.LD_PRELOAD = preload;
  else delete env.LD_PRELOAD;
  delete env[SOCKET_ENV];
  return env;
}

/**
 * Starts simulated chips behind a virtual /dev/i2c-N in a child process. Rejects with the reason if
 * this machine cannot run the shim (see {@link virtualI2cSupport}).
 */
export async function startVirtualI2c(options: VirtualI2cOptions = {}): Promise<VirtualI2c> {
  const support = virtualI2cSupport(options.shim ?? shimPath());
  if (!support.ok) throw new Error(support.reason);
  const dir = socketDir();
  const socketPath = path.join(dir, 'i2c.sock');
  const controlPath = path.join(dir, 'control.sock');
  const layout = options.buses ?? DEFAULT_LAYOUT;
  const child = fork(path.join(__dirname, 'child.js'), [JSON.stringify({ layout, socketPath, controlPath })], {
    env: serverEnv(),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the virtual I2C server did not start within 10 s')), 10000);
      child.once('message', (msg: { type?: string; error?: string }) => {
        clearTimeout(timer);
        if (msg?.type === 'ready') resolve();
        else reject(new Error(`the virtual I2C server failed: ${msg?.error ?? JSON.stringify(msg)}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the virtual I2C server exited at start (${signal ?? code})`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  // A forgotten stop() must not keep the caller alive: the server then exits when the IPC channel closes.
  child.unref();
  (child.channel as { unref?: () => void } | undefined)?.unref?.();
  let stopped: Promise<void> | undefined;
  return {
    env: clientEnv(support.shim, socketPath, controlPath),
    pid: child.pid,
    control: (command: string) => controlRequest(controlPath, command),
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.ref();
          (child.channel as { ref?: () => void } | undefined)?.ref?.();
          if (child.connected) child.send({ type: 'stop' });
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
        fs.rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
