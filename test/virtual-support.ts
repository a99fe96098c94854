/**
 * Shared by the virtual-bus tests (test/virtual-*.test.ts): what the machine has (shim, i2c-tools,
 * Debian's python3-smbus, the i2c-bus addon), honest skipping (a visible reason; a failure instead
 * when CI=true), and running programs against the virtual buses.
 */
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { virtualI2cSupport } from '../lib/virtual';
import { projectRoot } from './helpers/red';

/** The compiled CLI (lib/virtual/cli.ts) in the tree these tests were compiled into. */
export const CLI = path.resolve(__dirname, '..', 'lib', 'virtual', 'cli.js');

/** Why something needed is missing, or undefined when it is there. */
export type Missing = string | undefined;

export function shimMissing(): Missing {
  const support = virtualI2cSupport();
  return support.ok ? undefined : support.reason;
}

function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

export function i2cToolsMissing(): Missing {
  const missing = ['i2cdetect', 'i2cget', 'i2cset', 'i2cdump', 'i2ctransfer'].filter((t) => !onPath(t));
  return missing.length ? `i2c-tools not installed (${missing.join(', ')} missing; Debian: apt-get install i2c-tools)` : undefined;
}

/**
 * A Python with Debian's smbus module: the system /usr/bin/python3 first (python3-smbus installs for
 * it, and a pyenv/venv python3 earlier in PATH would not see it), then python3 from PATH.
 */
export function smbusPython(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(py, ['-c', 'import smbus'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

export function pythonSmbusMissing(): Missing {
  return smbusPython() ? undefined : 'Python smbus module not found (Debian: apt-get install python3-smbus)';
}

/** The i2c-bus package directory: IOPI_I2C_BUS_DIR (a copy built for another Node, see scripts/test-node22.js), else the project's. */
export function i2cBusDir(): string {
  if (process.env.IOPI_I2C_BUS_DIR) return process.env.IOPI_I2C_BUS_DIR;
  return path.dirname(require.resolve('i2c-bus/package.json', { paths: [projectRoot()] }));
}

export function i2cBusMissing(): Missing {
  try {
    const dir = i2cBusDir();
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(dir)})`], { encoding: 'utf8' });
    if (r.status === 0) return undefined;
    if (/NODE_MODULE_VERSION|different Node\.js version/.test(r.stderr)) {
      // scripts/test-node22.js builds its own copy for Node 22 (IOPI_I2C_BUS_DIR).
      return `the i2c-bus addon in ${dir} was compiled for another Node.js version than this one (${process.version}); run "npm rebuild i2c-bus"`;
    }
    return `the i2c-bus addon does not load (${r.stderr.trim().split('\n').pop()}); run "npm rebuild i2c-bus"`;
  } catch (err) {
    return `i2c-bus not installed (${(err as Error).message})`;
  }
}

/**
 * For a describe block: skips it with a visible reason if something is missing, or fails when
 * CI=true (CI installs everything, so a skip there would hide a broken setup).
 */
export function requireOrSkip(...checks: (() => Missing)[]): void {
  before(function () {
    const reasons = checks.map((c) => c()).filter((r): r is string => r !== undefined);
    if (reasons.length === 0) return;
    const text = reasons.join('; ');
    if (process.env.CI === 'true') throw new Error(`required for the virtual-bus tests under CI=true: ${text}`);
    // eslint-disable-next-line no-console
    console.log(`      SKIPPED (${this.test?.parent?.title ?? 'virtual bus'}): ${text}`);
    this.skip();
  });
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion (asynchronously: the test's process stays responsive). */
export function run(file: string, args: string[], options: SpawnOptions & { input?: string; timeout?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...options, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 20000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // a program that exits without reading its input
      child.stdin.end(options.input);
    }
  });
}

/** Runs a program with the virtual bus environment added. */
export function runWith(env: Record<string, string>, file: string, args: string[], options: { input?: string; timeout?: number } = {}): Promise<RunResult> {
  return run(file, args, { ...options, env: { ...process.env, ...env } });
}

/** Runs `iopi-sim ARGS` (the compiled CLI). */
export function iopiSim(args: string[], options: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], { env: options.env ?? process.env, timeout: options.timeout });
}

/** Writes a script into a fresh temporary directory and returns its path. */
export function tempScript(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iopi-virtual-test-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** The 22 registers of a `dump` answer as numbers. */
export function parseDump(line: string): number[] {
  const bytes = line.trim().split(' ').map((h) => parseInt(h, 16));
  if (bytes.length !== 22 || bytes.some((b) => !(b >= 0 && b <= 255))) throw new Error(`not a dump: ${line}`);
  return bytes;
}
