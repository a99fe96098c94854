/**
 * A real Mosquitto broker (Debian package `mosquitto`) for the MQTT tests: started on 127.0.0.1 and
 * a free port with a generated configuration in a temporary directory, stopped (and the directory
 * removed) by `stop()`.
 *
 * Use {@link useMosquitto} in a describe block: it starts the broker in before() and stops it in
 * after(). Without /usr/sbin/mosquitto the suite is skipped with the reason printed, except when
 * CI=true: then the missing broker is a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const MOSQUITTO = process.env.IOPI_MOSQUITTO || '/usr/sbin/mosquitto';
export const HOST = '127.0.0.1';

export interface Broker {
  readonly host: string;
  readonly port: number;
  /** Everything the broker printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export function mosquittoInstalled(): boolean {
  try {
    fs.accessSync(MOSQUITTO, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function startOnce(): Promise<Broker> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iopi-mosquitto-'));
  const config = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    config,
    [
      `listener ${port} ${HOST}`,
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'log_type subscribe',
      '',
    ].join('\n'),
  );
  let out = '';
  const child = spawn(MOSQUITTO, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited(child);
      clearTimeout(timer);
    }
    cleanup();
  };

  const deadline = Date.now() + 5000;
  for (;;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`mosquitto did not start on ${HOST}:${port}: ${spawnError?.message ?? `exit ${child.exitCode ?? child.signalCode}`}\n${out}`);
    }
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`mosquitto did not listen on ${HOST}:${port} within 5 s\n${out}`);
    }
    await sleep(25);
  }
  return { host: HOST, port, output: () => out, stop };
}

/** Starts a broker; retries on another port if the free one was taken in between. */
export async function startMosquitto(): Promise<Broker> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce();
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/**
 * Starts a broker for the tests of the current describe block; returns a getter. Skips the block
 * (reason printed) when mosquitto is not installed, fails instead when CI=true.
 */
export function useMosquitto(): () => Broker {
  let broker: Broker | undefined;
  before(async function () {
    if (!mosquittoInstalled()) {
      const why = `${MOSQUITTO} not found (Debian: apt-get install mosquitto)`;
      if (process.env.CI === 'true') throw new Error(`${why}; CI=true, so this is a failure, not a skip`);
      console.warn(`      SKIPPED: ${why}`);
      this.skip();
    }
    this.timeout(20000);
    broker = await startMosquitto();
  });
  after(async () => {
    if (broker) await broker.stop();
    broker = undefined;
  });
  return () => {
    if (!broker) throw new Error('mosquitto is not running');
    return broker;
  };
}
