/**
 * `iopi-sim`: runs a command with simulated MCP23017 chips behind /dev/i2c-N.
 *
 *   iopi-sim run [--bus N [--address 0xNN]...]... [--verbose] -- COMMAND [ARGS...]
 *
 * Default: bus 1 with 0x20 and 0x21 (one IO Pi Plus). Each --bus starts a group; the --address
 * options after it put chips on that bus (a --bus without any gets 0x20 and 0x21; an --address before
 * any --bus is on bus 1). The server runs in this process; COMMAND runs as a child with LD_PRELOAD,
 * IOPI_SIM_SOCKET and IOPI_SIM_CONTROL set. Exit status: COMMAND's (128 + signal number if a signal
 * ended it); 125 if iopi-sim itself failed, 126 if COMMAND cannot be run, 127 if it was not found.
 * SIGINT, SIGTERM and SIGHUP are passed on to COMMAND.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clientEnv, socketDir, virtualI2cSupport, CONTROL_ENV } from './index';
import { ControlError, VirtualI2cServer, parseAddress, parseBus, type BusLayout } from './server';

export const USAGE = `Usage: iopi-sim run [--bus N [--address 0xNN]...]... [--verbose] -- COMMAND [ARGS...]

Runs COMMAND with simulated MCP23017 chips (AB Electronics IO Pi Plus) behind /dev/i2c-N.
Default: bus 1 with chips at 0x20 and 0x21. Each --bus starts a bus; the --address options after it
place chips on it (0x20-0x27; without any, 0x20 and 0x21).

While COMMAND runs, $${CONTROL_ENV} names a Unix socket taking one command per line:
  set BUS ADDR PIN 0|1|float   drive input pin 1-16 low/high, or release it   -> ok
  dump BUS ADDR                the 22 registers (BANK=0 order, hex)           -> ff ff 00 ...
  int BUS ADDR                 INTA and INTB levels (0, 1, z)                -> 1 1
  add BUS ADDR | remove BUS ADDR   plug a chip in / unplug it                 -> ok
e.g.  echo "set 1 0x20 3 0" | socat - UNIX-CONNECT:$${CONTROL_ENV}

Works for dynamically linked glibc programs (i2c-tools, Python smbus, Node i2c-bus, C) on Linux
x86_64/aarch64. Exit status: COMMAND's; 125 if iopi-sim failed, 126/127 if COMMAND could not run.`;

export interface RunOptions {
  layout: BusLayout;
  command: string[];
  verbose: boolean;
}

/** Parses the arguments after `run`. Throws ControlError with a message for the user. */
export function parseRunArgs(args: string[]): RunOptions {
  const groups = new Map<number, number[]>();
  let current: number | undefined;
  let verbose = false;
  let i = 0;
  const value = (name: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    if (i + 1 >= args.length) throw new ControlError(`${name} needs a value`);
    return args[++i];
  };
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-')) break; // the command starts here
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (name === '--bus' || name === '-b') {
      current = parseBus(value(name, inline));
      if (!groups.has(current)) groups.set(current, []);
    } else if (name === '--address' || name === '-a') {
      if (current === undefined) {
        current = 1;
        if (!groups.has(1)) groups.set(1, []);
      }
      for (const part of value(name, inline).split(',')) {
        const address = parseAddress(part);
        const list = groups.get(current)!;
        if (!list.includes(address)) list.push(address);
      }
    } else if (name === '--verbose' || name === '-v') {
      verbose = true;
    } else {
      throw new ControlError(`unknown option ${arg}`);
    }
  }
  const command = args.slice(i);
  if (command.length === 0) throw new ControlError('no COMMAND given');
  const layout: BusLayout = {};
  if (groups.size === 0) groups.set(1, []);
  for (const [bus, addresses] of groups) layout[bus] = addresses.length ? addresses : [0x20, 0x21];
  return { layout, command, verbose };
}

const LAUNCHER_FAILED = 125;

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
    (verb === undefined ? process.stderr : process.stdout).write(USAGE + '\n');
    return verb === undefined ? 2 : 0;
  }
  if (verb !== 'run') {
    process.stderr.write(`iopi-sim: unknown command "${verb}"\n${USAGE}\n`);
    return 2;
  }
  let options: RunOptions;
  try {
    options = parseRunArgs(rest);
  } catch (err) {
    process.stderr.write(`iopi-sim: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const support = virtualI2cSupport();
  if (!support.ok) {
    process.stderr.write(`iopi-sim: cannot run: ${support.reason}\n`);
    return LAUNCHER_FAILED;
  }

  const dir = socketDir();
  const socketPath = path.join(dir, 'i2c.sock');
  const controlPath = path.join(dir, 'control.sock');
  const server = new VirtualI2cServer(options.layout);
  const cleanup = async () => {
    await server.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await server.listen(socketPath, controlPath);
  } catch (err) {
    process.stderr.write(`iopi-sim: cannot listen on ${dir}: ${(err as Error).message}\n`);
    await cleanup();
    return LAUNCHER_FAILED;
  }
  if (options.verbose) {
    const buses = Object.entries(server.layout())
      .map(([bus, addrs]) => `/dev/i2c-${bus}: ${addrs.map((a) => `0x${a.toString(16)}`).join(' ')}`)
      .join('; ');
    process.stderr.write(`iopi-sim: ${buses}; control socket ${controlPath}\n`);
  }

  const env = { ...process.env, ...clientEnv(support.shim, socketPath, controlPath) };
  const [file, ...args] = options.command;
  const status = await new Promise<number>((resolve) => {
    const child = spawn(file, args, { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    const done = (code: number) => {
      for (const [s, h] of handlers) process.off(s, h);
      resolve(code);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        process.stderr.write(`iopi-sim: ${file}: command not found\n`);
        done(127);
      } else {
        process.stderr.write(`iopi-sim: ${file}: ${err.message}\n`);
        done(126);
      }
    });
    child.on('exit', (code, signal) => {
      done(code ?? 128 + (signal ? os.constants.signals[signal] ?? 0 : 0));
    });
  });
  await cleanup();
  return status;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
