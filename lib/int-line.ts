/**
 * Watches the MCP23017's INT output wired to a Raspberry Pi GPIO, through libgpiod's `gpiomon`
 * (Debian package `gpiod`), and reports each edge. See docs/linux-i2c-and-gpio.md §3.
 *
 * Why a child process: no native build, no npm dependency, works on the Pi 4 and Pi 5, Bookworm
 * (libgpiod 1.6) and Trixie (libgpiod 2.x). The line is found BY NAME ("GPIO23"), never by gpiochip
 * number, which moves between Pi models and kernels.
 *
 * On start, `gpiomon --version` tells which command line to use:
 *
 *   v1.6:  gpiofind GPIO23                      -> "gpiochip0 23"
 *          gpiomon --line-buffered --format=%e %o %s.%n --falling-edge --bias=pull-up gpiochip0 23
 *   v2.x:  gpiomon --edges falling --bias pull-up --format %E %o %S GPIO23
 *
 * - v1 `-b`/`--line-buffered` matters: without it gpiomon's stdout on a pipe is block-buffered and
 *   events would arrive 4 KiB at a time. (v2's `-b` means bias; v2 flushes after every event batch.)
 * - v1 `%n` is printed with "%ld", not zero-padded: "12.5000" means 12 s + 5000 ns. Never read
 *   "%s.%n" as a decimal number.
 * - v1 bias values are as-is|disable|pull-down|pull-up; v2's are pull-up|pull-down|disabled and
 *   "as-is" is expressed by leaving the option out.
 * - Every argument goes in an array to spawn(), never through a shell. The child runs with
 *   LC_ALL=C so its error messages (strerror) can be recognised.
 *
 * Failures:
 * - gpiomon (or v1's gpiofind) not installed (spawn ENOENT): status `missing`, no restart; the caller
 *   falls back to polling. The message says to `sudo apt install gpiod`.
 * - gpiomon rejects our options, or its version is unknown: status `failed`, no restart.
 * - line busy, permission denied, line not found, gpiomon exiting: status `restarting` with a clear
 *   message, then a restart after a capped, doubling delay (reset once a child has run stably).
 *
 * `stop()` sends SIGTERM (gpiomon releases the line), waits for the exit, sends SIGKILL if the child
 * has not gone after `killTimeoutMs`, and clears every timer and listener.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { userInfo } from 'node:os';
import type { InterruptOutputOptions } from './driver';

/** Which edges gpiomon reports. */
export type IntLineEdgeMode = 'falling' | 'rising' | 'both';

/** The Pi's internal bias on the line; 'as-is' leaves it unchanged. */
export type IntLineBias = 'pull-up' | 'pull-down' | 'disabled' | 'as-is';

export type IntLineState = 'starting' | 'watching' | 'restarting' | 'missing' | 'failed' | 'stopped';

/** Why the watcher is not watching (with `restarting`, `missing` and `failed`). */
export type IntLineProblem =
  | 'not-installed' // gpiomon or gpiofind: ENOENT
  | 'not-executable' // spawn EACCES etc.
  | 'incompatible' // unknown version, or gpiomon rejected our options
  | 'busy' // another program holds the line
  | 'permission' // the user may not open /dev/gpiochipN (not in the gpio group)
  | 'not-found' // no line of that name (v2: also when no chip may be opened)
  | 'exited'; // gpiomon ended for another reason

export interface IntLineStatus {
  state: IntLineState;
  /** One line for a node status and the log, e.g. 'GPIO23 is in use by another program ...'. */
  message: string;
  problem?: IntLineProblem;
  /** restarting: milliseconds until the next attempt. */
  retryInMs?: number;
  /** libgpiod version of the gpiomon found, e.g. "1.6.3". */
  version?: string;
}

/** One edge reported by gpiomon. */
export interface IntLineEdge {
  edge: 'rising' | 'falling';
  /** Offset of the line on its gpiochip. */
  offset: number;
  /** Kernel timestamp of the edge: seconds and nanoseconds (CLOCK_MONOTONIC on current kernels). */
  sec: number;
  nsec: number;
}

export interface IntLineWatcherOptions {
  /** Line name, as `gpioinfo` shows it, e.g. "GPIO23". */
  line: string;
  /** Default 'falling' (open-drain or push-pull active-low INT). */
  edge?: IntLineEdgeMode;
  /** Default 'pull-up' (open-drain INT). */
  bias?: IntLineBias;
  /** Command or path of gpiomon (looked up in `env.PATH`). Default "gpiomon". */
  gpiomon?: string;
  /** Command or path of gpiofind (libgpiod 1.x only). Default "gpiofind". */
  gpiofind?: string;
  /** Environment of the children (default process.env); LC_ALL=C is always added. */
  env?: NodeJS.ProcessEnv;
  /** First restart delay, doubling up to `retryMax`. Default 500. */
  retryInitial?: number;
  /** Longest restart delay. Default 30000. */
  retryMax?: number;
  /** A gpiomon that ran this long before ending restarts after `retryInitial` again. Default 10000. */
  stableAfter?: number;
  /** gpiomon prints nothing on success: alive this long means it holds the line. Default 300. */
  settleTime?: number;
  /** After SIGTERM, SIGKILL when the child has not exited within this time. Default 2000. */
  killTimeout?: number;
  /** Longest run of `gpiomon --version` / `gpiofind`. Default 5000. */
  probeTimeout?: number;
}

export interface IntLineEvents {
  edge: [IntLineEdge];
  status: [IntLineStatus];
  /**
   * Something worth a log line that the status does not show (an unexpected output line). Emitted
   * only while someone listens, so it never throws.
   */
  error: [Error];
}

/** gpiomon's major/minor version and the full text. */
export interface GpiodVersion {
  major: number;
  minor: number;
  text: string;
}

/** Reads `gpiomon --version` output ("gpiomon (libgpiod) v1.6.3"); undefined if unrecognised. */
export function parseGpiodVersion(output: string): GpiodVersion | undefined {
  const m = /\(libgpiod\)\s+v?(\d+)\.(\d+)([^\s]*)/.exec(output) ?? /\bv(\d+)\.(\d+)([^\s]*)/.exec(output);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), text: `${m[1]}.${m[2]}${m[3]}` };
}

/** The gpiomon arguments for a version (the line is "chip offset" for v1, the name for v2). */
export function gpiomonArguments(
  major: number,
  target: { line: string; chip?: string; offset?: number },
  edge: IntLineEdgeMode,
  bias: IntLineBias,
): string[] {
  if (major >= 2) {
    const args = ['--edges', edge];
    if (bias !== 'as-is') args.push('--bias', bias);
    args.push('--format', V2_FORMAT, target.line);
    return args;
  }
  if (target.chip === undefined || target.offset === undefined) throw new Error('libgpiod 1.x needs the chip and offset from gpiofind');
  const args = ['--line-buffered', `--format=${V1_FORMAT}`];
  if (edge === 'falling') args.push('--falling-edge');
  else if (edge === 'rising') args.push('--rising-edge');
  // 'both' is v1's default: no option
  if (bias !== 'as-is') args.push(`--bias=${bias === 'disabled' ? 'disable' : bias}`);
  args.push(target.chip, String(target.offset));
  return args;
}

const V1_FORMAT = '%e %o %s.%n';
const V2_FORMAT = '%E %o %S';
const V1_LINE = /^([01]) (\d+) (\d+)\.(\d+)$/;
const V2_LINE = /^(rising|falling) (\d+) (\d+)\.(\d+)$/;

/** Parses one line of our gpiomon format; undefined if it is not one. */
export function parseGpiomonLine(major: number, line: string): IntLineEdge | undefined {
  const text = line.trim();
  if (major >= 2) {
    const m = V2_LINE.exec(text);
    if (!m) return undefined;
    return { edge: m[1] as 'rising' | 'falling', offset: Number(m[2]), sec: Number(m[3]), nsec: Number(m[4]) };
  }
  const m = V1_LINE.exec(text);
  if (!m) return undefined;
  // %e: 1 = rising, 0 = falling; %n is the nanosecond count, not a decimal fraction.
  return { edge: m[1] === '1' ? 'rising' : 'falling', offset: Number(m[2]), sec: Number(m[3]), nsec: Number(m[4]) };
}

/** Splits a byte stream into lines, whatever the chunking (a line may span several chunks). */
export class LineSplitter {
  private rest = '';

  /** Complete lines in this chunk (without "\n"); a partial last line waits for the next chunk. */
  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const parts = text.split('\n');
    this.rest = parts.pop() ?? '';
    return parts;
  }

  /** The unterminated remainder (at end of stream). */
  end(): string {
    const rest = this.rest;
    this.rest = '';
    return rest;
  }
}

/**
 * gpiomon's edge and bias for the chip's INT output options:
 * - open-drain (active-low whatever INTPOL says): falling edges, the Pi's pull-up. No level shifter
 *   is needed even with the chip at 5 V, provided nothing on the board pulls INT up to 5 V.
 * - push-pull active-low (the vendor's tutorial 4, through a level shifter): falling edges, no bias.
 * - push-pull active-high (through a level shifter): rising edges, no bias.
 * `warnings` lists wiring caveats for the log.
 */
export function intLineSettings(output: Partial<InterruptOutputOptions>): { edge: IntLineEdgeMode; bias: IntLineBias; warnings: string[] } {
  const warnings: string[] = [];
  if (!output.mirror) {
    warnings.push('INT mirroring is off: INTA shows only port A (pins 1-8) and INTB only port B, so unless both are wired to the GPIO (open-drain), the other port is only seen by the safety poll');
  }
  if (output.openDrain) return { edge: 'falling', bias: 'pull-up', warnings };
  warnings.push('push-pull INT is driven at the chip\'s supply (5 V on the IO Pi Plus): connect it through a level shifter or divider, never directly to the Pi');
  if (output.activeHigh) return { edge: 'rising', bias: 'disabled', warnings };
  return { edge: 'falling', bias: 'disabled', warnings };
}

/** Most stderr kept per child (the classification looks at its end). */
const STDERR_LIMIT = 4096;

interface Run {
  child: ChildProcess;
  /** Resolves once the process is gone and its pipes are closed (or it never started). */
  closed: Promise<void>;
}

interface ProbeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  error?: NodeJS.ErrnoException;
}

class Classified {
  constructor(
    readonly problem: IntLineProblem,
    readonly message: string,
  ) {}
}

export class IntLineWatcher extends EventEmitter<IntLineEvents> {
  readonly line: string;
  readonly edge: IntLineEdgeMode;
  readonly bias: IntLineBias;
  private readonly gpiomonCommand: string;
  private readonly gpiofindCommand: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly opts: Required<Pick<IntLineWatcherOptions, 'retryInitial' | 'retryMax' | 'stableAfter' | 'settleTime' | 'killTimeout' | 'probeTimeout'>>;

  private statusValue: IntLineStatus;
  private versionValue: GpiodVersion | undefined;
  private retryDelay: number;
  private started = false;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  /** Every child still alive or not yet reaped (gpiomon, probes). */
  private readonly runs = new Set<Run>();
  private monitor: ChildProcess | undefined;

  constructor(options: IntLineWatcherOptions) {
    super();
    const line = options.line;
    if (typeof line !== 'string' || line.trim() === '' || line.startsWith('-') || /[\x00-\x1f]/.test(line)) {
      throw new TypeError(`INT line: a GPIO line name such as "GPIO23" is needed, got ${JSON.stringify(line)}`);
    }
    const edge = options.edge ?? 'falling';
    if (!['falling', 'rising', 'both'].includes(edge)) throw new TypeError(`INT line edge: "falling", "rising" or "both", got ${JSON.stringify(edge)}`);
    const bias = options.bias ?? 'pull-up';
    if (!['pull-up', 'pull-down', 'disabled', 'as-is'].includes(bias)) {
      throw new TypeError(`INT line bias: "pull-up", "pull-down", "disabled" or "as-is", got ${JSON.stringify(bias)}`);
    }
    this.line = line.trim();
    this.edge = edge;
    this.bias = bias;
    this.gpiomonCommand = options.gpiomon || 'gpiomon';
    this.gpiofindCommand = options.gpiofind || 'gpiofind';
    this.env = { ...(options.env ?? process.env), LC_ALL: 'C' };
    this.opts = {
      retryInitial: options.retryInitial ?? 500,
      retryMax: options.retryMax ?? 30000,
      stableAfter: options.stableAfter ?? 10000,
      settleTime: options.settleTime ?? 300,
      killTimeout: options.killTimeout ?? 2000,
      probeTimeout: options.probeTimeout ?? 5000,
    };
    this.retryDelay = this.opts.retryInitial;
    this.statusValue = { state: 'starting', message: `starting gpiomon for ${this.line}` };
  }

  get status(): IntLineStatus {
    return this.statusValue;
  }

  /** The libgpiod version found at the last start (undefined before). */
  get version(): GpiodVersion | undefined {
    return this.versionValue;
  }

  /** Process id of the running gpiomon, if any. */
  get pid(): number | undefined {
    return this.monitor?.pid;
  }

  /** Starts watching (once). Progress and problems arrive as `status` events. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.setStatus(this.statusValue);
    void this.attempt();
  }

  /**
   * Ends gpiomon (SIGTERM, then SIGKILL after `killTimeout`) and any probe, waits until they have
   * exited, clears timers and removes all listeners. Safe to call more than once.
   */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopped = true;
    this.clearTimers();
    this.stopping = (async () => {
      await Promise.all([...this.runs].map((run) => this.terminate(run)));
      this.monitor = undefined;
      this.setStatus({ state: 'stopped', message: 'stopped' });
      this.removeAllListeners();
    })();
    return this.stopping;
  }

  // ---------------------------------------------------------------------------------------------

  private async attempt(): Promise<void> {
    this.restartTimer = undefined;
    if (this.stopped) return;
    // After a failure the status keeps saying "restarting ..." until this attempt's outcome.

    // 1. Which libgpiod?
    const probe = await this.probe(this.gpiomonCommand, ['--version']);
    if (this.stopped) return;
    if (probe.error) return this.giveUpOrRetry(this.spawnProblem(this.gpiomonCommand, probe.error));
    const version = parseGpiodVersion(probe.stdout);
    if (!version || version.major < 1 || probe.code !== 0) {
      const said = firstLine(probe.stdout) || lastLine(probe.stderr) || `exit code ${probe.code}`;
      return this.giveUpOrRetry(new Classified('incompatible', `cannot tell the libgpiod version of ${this.gpiomonCommand} ("${said}"); libgpiod 1.5 or later is needed`));
    }
    this.versionValue = version;
    if (version.major === 1 && version.minor < 5 && this.bias !== 'as-is') {
      return this.giveUpOrRetry(new Classified('incompatible', `gpiomon v${version.text} cannot set the line bias (libgpiod 1.5 or later can): upgrade gpiod, or use bias "as-is" with an external pull-up`));
    }

    // 2. v1: the line's chip and offset, by name.
    let target: { line: string; chip?: string; offset?: number } = { line: this.line };
    if (version.major < 2) {
      const found = await this.probe(this.gpiofindCommand, [this.line]);
      if (this.stopped) return;
      if (found.error) return this.giveUpOrRetry(this.spawnProblem(this.gpiofindCommand, found.error));
      const m = /^(\S+)\s+(\d+)\s*$/.exec(found.stdout.trim());
      if (found.code !== 0 || !m) {
        const problem = found.code !== 0 && !found.stderr.trim()
          ? new Classified('not-found', this.notFoundMessage(false))
          : this.classifyStderr(found.stderr, found.code, found.signal, 'gpiofind');
        return this.giveUpOrRetry(problem);
      }
      target = { line: this.line, chip: m[1], offset: Number(m[2]) };
    }

    // 3. gpiomon itself.
    this.spawnMonitor(version, gpiomonArguments(version.major, target, this.edge, this.bias), target);
  }

  private spawnMonitor(version: GpiodVersion, args: string[], target: { chip?: string; offset?: number }): void {
    const started = Date.now();
    const splitter = new LineSplitter();
    let stderr = '';
    let spawnError: NodeJS.ErrnoException | undefined;
    const run = this.track(spawn(this.gpiomonCommand, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true }));
    const child = run.child;
    this.monitor = child;

    const where = target.chip !== undefined ? ` (${target.chip} line ${target.offset})` : '';
    const watching = () => {
      if (this.settleTimer) clearTimeout(this.settleTimer);
      this.settleTimer = undefined;
      if (this.stopped || this.monitor !== child || this.statusValue.state === 'watching') return;
      this.setStatus({
        state: 'watching',
        message: `watching ${this.line}${where} for ${this.edge === 'both' ? 'both edges' : `${this.edge} edges`}${this.bias === 'as-is' ? '' : `, bias ${this.bias}`} (gpiomon v${version.text})`,
        version: version.text,
      });
    };

    child.on('spawn', () => {
      if (this.stopped) return;
      this.settleTimer = setTimeout(watching, this.opts.settleTime);
    });
    let ended = false;
    const finished = (code: number | null, signal: NodeJS.Signals | null) => {
      if (ended) return;
      ended = true;
      const rest = splitter.end();
      if (!this.stopped && rest) this.onOutput(version, rest, watching);
      if (this.monitor === child) this.monitor = undefined;
      if (this.settleTimer) clearTimeout(this.settleTimer);
      this.settleTimer = undefined;
      if (this.stopped) return;
      // A child that ran for a while gets a fresh backoff: this is a new failure, not a repeat.
      if (Date.now() - started >= this.opts.stableAfter) this.retryDelay = this.opts.retryInitial;
      if (spawnError && child.pid === undefined) return this.giveUpOrRetry(this.spawnProblem(this.gpiomonCommand, spawnError));
      this.giveUpOrRetry(this.classifyStderr(stderr, code, signal, 'gpiomon'));
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError ??= err;
      // Spawn failures are followed by 'close' on current Node versions; do not rely on it.
      if (child.pid === undefined) setImmediate(() => finished(null, null));
    });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      if (this.stopped) return;
      for (const line of splitter.push(chunk)) this.onOutput(version, line, watching);
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_LIMIT);
    });
    child.on('close', finished);
  }

  private onOutput(version: GpiodVersion, line: string, watching: () => void): void {
    if (!line.trim()) return;
    const edge = parseGpiomonLine(version.major, line);
    if (!edge) {
      this.report(new Error(`unexpected output from gpiomon: ${JSON.stringify(line.slice(0, 200))}`));
      return;
    }
    // An event proves the line is held: no need to wait for the settle time.
    if (this.statusValue.state !== 'watching') watching();
    this.emit('edge', edge);
  }

  /** Missing and incompatible tools are final; everything else restarts after the backoff delay. */
  private giveUpOrRetry(problem: Classified): void {
    if (this.stopped) return;
    const version = this.versionValue?.text;
    if (problem.problem === 'not-installed') {
      this.setStatus({ state: 'missing', problem: problem.problem, message: problem.message, version });
      return;
    }
    if (problem.problem === 'incompatible' || problem.problem === 'not-executable') {
      this.setStatus({ state: 'failed', problem: problem.problem, message: problem.message, version });
      return;
    }
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, this.opts.retryMax);
    this.setStatus({
      state: 'restarting',
      problem: problem.problem,
      message: `${problem.message}; retrying in ${formatDelay(delay)}`,
      retryInMs: delay,
      version,
    });
    this.restartTimer = setTimeout(() => void this.attempt(), delay);
  }

  private spawnProblem(command: string, err: NodeJS.ErrnoException): Classified {
    if (err.code === 'ENOENT') {
      const which = command.includes('/') ? command : `${command} (libgpiod's tools)`;
      return new Classified('not-installed', `${which} not found: install it with "sudo apt install gpiod"`);
    }
    return new Classified('not-executable', `cannot run ${command}: ${err.message}`);
  }

  /** Reads the reason out of a failed tool's stderr (LC_ALL=C: English strerror texts). */
  private classifyStderr(stderr: string, code: number | null, signal: NodeJS.Signals | null, tool: string): Classified {
    const text = stderr.trim();
    if (/unrecognized option|invalid option|requires an argument|is ambiguous|doesn't allow an argument|invalid bias|invalid edges|try \S+ --help/.test(text)) {
      return new Classified('incompatible', `gpiomon v${this.versionValue?.text ?? '?'} rejected our options: ${firstLine(text)}`);
    }
    if (/Device or resource busy/.test(text)) {
      return new Classified('busy', `${this.line} is in use by another program (Device or resource busy); "gpioinfo" shows who holds it`);
    }
    if (/Permission denied|Operation not permitted/.test(text)) {
      return new Classified('permission', `no permission to open the GPIO chip (${lastLine(text)}): ${this.groupHint()}`);
    }
    if (/cannot find line/.test(text)) return new Classified('not-found', this.notFoundMessage(true));
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const said = lastLine(text);
    return new Classified('exited', `${tool} ${how}${said ? `: ${said}` : ''}`);
  }

  private notFoundMessage(v2: boolean): string {
    const base = `no GPIO line named "${this.line}" ("gpioinfo" lists the names)`;
    // libgpiod 2 skips chips it may not open, so a missing permission looks the same.
    return v2 ? `${base}, or no permission to open /dev/gpiochip*: ${this.groupHint()}` : base;
  }

  private groupHint(): string {
    let user = '<user>';
    try {
      user = userInfo().username;
    } catch {
      // no passwd entry (containers)
    }
    return `add the user running Node-RED to the "gpio" group (sudo adduser ${user} gpio) and restart Node-RED`;
  }

  /** Runs a short-lived tool and collects its output; kills it after `probeTimeout`. */
  private probe(command: string, args: string[]): Promise<ProbeResult> {
    return new Promise((resolve) => {
      const run = this.track(spawn(command, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true }));
      const child = run.child;
      let stdout = '';
      let stderr = '';
      let error: NodeJS.ErrnoException | undefined;
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        stdout = (stdout + chunk).slice(-STDERR_LIMIT);
      });
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_LIMIT);
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        error ??= err;
      });
      const timer = setTimeout(() => {
        stderr += `\n${command} did not finish within ${this.opts.probeTimeout} ms`;
        child.kill('SIGKILL');
      }, this.opts.probeTimeout);
      child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr, error: child.pid === undefined ? error : undefined });
      });
    });
  }

  /** Registers a child so that stop() can end it, and removes it once it has closed. */
  private track(child: ChildProcess): Run {
    let done!: () => void;
    const closed = new Promise<void>((resolve) => (done = resolve));
    const run: Run = { child, closed };
    this.runs.add(run);
    // A pipe error must not become an uncaught exception; the exit is what we act on.
    child.stdout?.on('error', () => undefined);
    child.stderr?.on('error', () => undefined);
    const finish = () => {
      this.runs.delete(run);
      done();
    };
    child.once('close', finish);
    // A spawn failure emits 'error' and then 'close' on current Node versions; be safe on older ones.
    child.once('error', () => {
      if (child.pid === undefined) setImmediate(finish);
    });
    return run;
  }

  private async terminate(run: Run): Promise<void> {
    const child = run.child;
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, this.opts.killTimeout);
      await run.closed;
      clearTimeout(timer);
    } else {
      await run.closed;
    }
    child.removeAllListeners();
    child.stdout?.removeAllListeners();
    child.stderr?.removeAllListeners();
  }

  private clearTimers(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.restartTimer = this.settleTimer = undefined;
  }

  private report(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private setStatus(status: IntLineStatus): void {
    this.statusValue = status;
    this.emit('status', status);
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1]?.trim() ?? '';
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
