/**
 * IntLineWatcher against the fake libgpiod tools (test/fixtures/fake-gpio), both versions:
 * command lines, output formats, buffering, failures and restarts, stop().
 * Nothing here asserts latency; waits are for events, with generous bounds.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  IntLineWatcher, LineSplitter, gpiomonArguments, intLineSettings, parseGpiodVersion, parseGpiomonLine,
  type IntLineEdge, type IntLineStatus, type IntLineWatcherOptions,
} from '../lib/int-line';
import { FakeGpioKernel, alive, delay, fakeGpioDir, fakeToolProcesses } from './intline-harness';

const V1 = '1.6.3';
const V2 = '2.2.1';

/** Resolves with the first status matching `test`; rejects after `ms` with what was seen. */
function statusWhere(w: IntLineWatcher, test: (s: IntLineStatus) => boolean, ms = 8000): Promise<IntLineStatus> {
  if (test(w.status)) return Promise.resolve(w.status);
  return new Promise((resolve, reject) => {
    const seen: string[] = [];
    const timer = setTimeout(() => {
      w.off('status', fn);
      reject(new Error(`no matching status within ${ms} ms; saw: ${seen.join(' | ') || 'nothing'}`));
    }, ms);
    const fn = (s: IntLineStatus) => {
      seen.push(`${s.state}: ${s.message}`);
      if (!test(s)) return;
      clearTimeout(timer);
      w.off('status', fn);
      resolve(s);
    };
    w.on('status', fn);
  });
}

const state = (name: IntLineStatus['state']) => (s: IntLineStatus) => s.state === name;

/** Resolves with the next `count` edges; rejects after `ms`. */
function edges(w: IntLineWatcher, count: number, ms = 8000): Promise<IntLineEdge[]> {
  return new Promise((resolve, reject) => {
    const got: IntLineEdge[] = [];
    const timer = setTimeout(() => {
      w.off('edge', fn);
      reject(new Error(`only ${got.length} of ${count} edges within ${ms} ms`));
    }, ms);
    const fn = (e: IntLineEdge) => {
      got.push(e);
      if (got.length < count) return;
      clearTimeout(timer);
      w.off('edge', fn);
      resolve(got);
    };
    w.on('edge', fn);
  });
}

/** Reads a child's stdout into a string. */
function collect(child: ChildProcess): { text: () => string; chunks: string[] } {
  const chunks: string[] = [];
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (c: string) => chunks.push(c));
  return { text: () => chunks.join(''), chunks };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function until(check: () => boolean, ms = 8000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

describe('int line: pure helpers', () => {
  it('reads both versions of gpiomon --version', () => {
    assert.deepEqual(parseGpiodVersion('gpiomon (libgpiod) v1.6.3\nCopyright (C) 2017-2018 Bartosz Golaszewski\n'), { major: 1, minor: 6, text: '1.6.3' });
    assert.deepEqual(parseGpiodVersion('gpiomon (libgpiod) v2.2.1\n'), { major: 2, minor: 2, text: '2.2.1' });
    assert.deepEqual(parseGpiodVersion('gpiomon (libgpiod) v2.1-rc2\n'), { major: 2, minor: 1, text: '2.1-rc2' });
    assert.equal(parseGpiodVersion('gpiomon: command not found'), undefined);
  });

  it('builds each version\'s command line', () => {
    assert.deepEqual(gpiomonArguments(1, { line: 'GPIO23', chip: 'gpiochip0', offset: 23 }, 'falling', 'pull-up'),
      ['--line-buffered', '--format=%e %o %s.%n', '--falling-edge', '--bias=pull-up', 'gpiochip0', '23']);
    assert.deepEqual(gpiomonArguments(1, { line: 'GPIO23', chip: 'gpiochip4', offset: 23 }, 'rising', 'disabled'),
      ['--line-buffered', '--format=%e %o %s.%n', '--rising-edge', '--bias=disable', 'gpiochip4', '23']);
    assert.deepEqual(gpiomonArguments(1, { line: 'GPIO23', chip: 'gpiochip0', offset: 23 }, 'both', 'as-is'),
      ['--line-buffered', '--format=%e %o %s.%n', 'gpiochip0', '23']);
    assert.deepEqual(gpiomonArguments(2, { line: 'GPIO23' }, 'falling', 'pull-up'),
      ['--edges', 'falling', '--bias', 'pull-up', '--format', '%E %o %S', 'GPIO23']);
    assert.deepEqual(gpiomonArguments(2, { line: 'GPIO23' }, 'both', 'as-is'), ['--edges', 'both', '--format', '%E %o %S', 'GPIO23']);
    assert.throws(() => gpiomonArguments(1, { line: 'GPIO23' }, 'falling', 'pull-up'), /gpiofind/);
  });

  it('parses event lines; v1 nanoseconds are not zero-padded', () => {
    assert.deepEqual(parseGpiomonLine(1, '0 23 12.5000'), { edge: 'falling', offset: 23, sec: 12, nsec: 5000 });
    assert.deepEqual(parseGpiomonLine(1, '1 23 4321.987654321'), { edge: 'rising', offset: 23, sec: 4321, nsec: 987654321 });
    assert.deepEqual(parseGpiomonLine(2, 'falling 23 12.000005000'), { edge: 'falling', offset: 23, sec: 12, nsec: 5000 });
    assert.deepEqual(parseGpiomonLine(2, 'rising 7 1.000000001'), { edge: 'rising', offset: 7, sec: 1, nsec: 1 });
    // The other version's format, human-readable output and banners are not events.
    assert.equal(parseGpiomonLine(1, 'falling 23 12.000005000'), undefined);
    assert.equal(parseGpiomonLine(2, '0 23 12.5000'), undefined);
    assert.equal(parseGpiomonLine(1, 'event: FALLING EDGE offset: 23 timestamp: [      12.000005000]'), undefined);
    assert.equal(parseGpiomonLine(2, "Monitoring line 'GPIO23'..."), undefined);
  });

  it('splits lines across any chunking', () => {
    const text = Array.from({ length: 40 }, (_, i) => `${i % 2} 23 ${i}.${i * 7}`).join('\n') + '\n';
    for (const size of [1, 2, 3, 7, 13, 64, text.length]) {
      const s = new LineSplitter();
      const lines: string[] = [];
      for (let i = 0; i < text.length; i += size) lines.push(...s.push(text.slice(i, i + size)));
      assert.equal(s.end(), '');
      assert.equal(lines.length, 40, `chunk size ${size}`);
      assert.deepEqual(lines.map((l) => parseGpiomonLine(1, l)?.sec), Array.from({ length: 40 }, (_, i) => i));
    }
    const s = new LineSplitter();
    assert.deepEqual(s.push('0 23 1.'), []);
    assert.deepEqual(s.push('5\n1 23'), ['0 23 1.5']);
    assert.equal(s.end(), '1 23');
  });

  it('maps the chip\'s INT options to edge and bias', () => {
    const od = intLineSettings({ mirror: true, openDrain: true, activeHigh: true });
    assert.deepEqual([od.edge, od.bias, od.warnings.length], ['falling', 'pull-up', 0], 'open-drain ignores INTPOL: always active-low');
    const low = intLineSettings({ mirror: true, openDrain: false, activeHigh: false });
    assert.deepEqual([low.edge, low.bias], ['falling', 'disabled']);
    assert.match(low.warnings.join(), /level shifter/);
    const high = intLineSettings({ mirror: true, openDrain: false, activeHigh: true });
    assert.deepEqual([high.edge, high.bias], ['rising', 'disabled']);
    assert.match(intLineSettings({ mirror: false, openDrain: true }).warnings.join(), /mirroring is off/);
  });

  it('rejects bad options before spawning anything', () => {
    assert.throws(() => new IntLineWatcher({ line: '' }), /line name/);
    assert.throws(() => new IntLineWatcher({ line: '--chip' }), /line name/);
    assert.throws(() => new IntLineWatcher({ line: 'GPIO23', edge: 'down' as never }), /edge/);
    assert.throws(() => new IntLineWatcher({ line: 'GPIO23', bias: 'up' as never }), /bias/);
  });
});

describe('int line: the fake tools', () => {
  let kernel: FakeGpioKernel;
  const children: ChildProcess[] = [];
  const tool = (name: string, args: string[], version: string, env: NodeJS.ProcessEnv = {}) => {
    const child = spawn(path.join(fakeGpioDir(), name), args, { env: kernel.env(version, env), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  };
  const stderrOf = (child: ChildProcess) => {
    let text = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => (text += c));
    return () => text;
  };

  beforeEach(async () => {
    kernel = new FakeGpioKernel();
    await kernel.start();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await exited(c);
    }
    await kernel.close();
  });

  for (const [version, foreign, complaint] of [
    [V1, ['--edges', 'falling', 'gpiochip0', '23'], "unrecognized option '--edges'"],
    [V2, ['-f', 'GPIO23'], "invalid option -- 'f'"],
    [V2, ['-b', '-F', '%e', 'GPIO23'], 'invalid bias: -F'],
    [V2, ['--bias', 'as-is', 'GPIO23'], 'invalid bias: as-is'],
    [V1, ['--bias=disabled', 'gpiochip0', '23'], 'invalid bias: disabled'],
  ] as const) {
    it(`v${version} rejects ${foreign.slice(0, -1).join(' ')} like the real tool`, async () => {
      const child = tool('gpiomon', [...foreign], version);
      const stderr = stderrOf(child);
      const { code } = await exited(child);
      assert.equal(code, 1);
      assert.ok(stderr().includes(complaint), stderr());
      assert.equal(kernel.requests().length, 0, 'no line was requested');
    });
  }

  it('v1 without -b is block-buffered on a pipe: 4096-byte chunks cut mid-line, the rest at exit', async () => {
    const child = tool('gpiomon', ['--format=%e %o %s.%n', 'gpiochip0', '23'], V1);
    const out = collect(child);
    await kernel.waitForHolder('GPIO23');
    // The line starts at 0 (no bias: floating, read as 0), so 1, 0, 1, ... is 400 edges.
    const level = (i: number) => ((i + 1) % 2) as 0 | 1;
    for (let i = 0; i < 10; i++) kernel.setDrive('GPIO23', level(i));
    await delay(300);
    assert.equal(out.text(), '', 'ten events are still in the stdio buffer');
    for (let i = 10; i < 400; i++) kernel.setDrive('GPIO23', level(i));
    await until(() => out.chunks.length > 0, 8000, 'a full buffer');
    const blocks = out.text();
    assert.ok(blocks.length > 0 && blocks.length % 4096 === 0, `whole 4096-byte blocks only (got ${blocks.length} bytes)`);
    assert.notEqual(blocks.at(-1), '\n', 'the block ends inside a line');
    child.kill('SIGTERM'); // v1's handler exits, which flushes stdout
    const { code } = await exited(child);
    assert.equal(code, 0);
    const splitter = new LineSplitter();
    const events = out.chunks.flatMap((c) => splitter.push(c)).map((l) => parseGpiomonLine(1, l));
    assert.equal(splitter.end(), '');
    assert.equal(events.length, 400);
    assert.ok(events.every((e, i) => e && e.edge === (i % 2 === 0 ? 'rising' : 'falling') && e.offset === 23), 'alternating edges, none lost');
  });

  it('v1 with -b and v2 deliver each event at once', async () => {
    for (const [version, args] of [
      [V1, ['-b', '-F', '%e %o %s.%n', 'gpiochip0', '23']],
      [V2, ['-F', '%E %o %S', 'GPIO23']],
    ] as const) {
      const child = tool('gpiomon', [...args], version);
      const out = collect(child);
      await kernel.waitForHolder('GPIO23');
      kernel.setDrive('GPIO23', 1);
      await until(() => out.text().endsWith('\n'), 8000, `v${version} event`);
      const line = out.text().trim();
      assert.ok(parseGpiomonLine(Number(version[0]), line)?.edge === 'rising', line);
      if (version === V2) assert.match(line, /^rising 23 \d+\.\d{9}$/, 'v2 %S has nine nanosecond digits');
      child.kill('SIGTERM');
      const { code, signal } = await exited(child);
      if (version === V1) assert.equal(code, 0, 'v1 exits 0 on SIGTERM');
      else assert.equal(signal, 'SIGTERM', 'v2 dies of SIGTERM');
      await kernel.waitForRelease('GPIO23');
      kernel.setDrive('GPIO23', 0);
    }
  });

  it('v1 gpiofind finds a line by name; a second gpiomon on a held line gets EBUSY', async () => {
    const find = tool('gpiofind', ['GPIO23'], V1);
    const found = collect(find);
    assert.equal((await exited(find)).code, 0);
    assert.equal(found.text(), 'gpiochip0 23\n');
    const missing = tool('gpiofind', ['GPIO99'], V1);
    const none = collect(missing);
    assert.equal((await exited(missing)).code, 1);
    assert.equal(none.text(), '');

    const first = tool('gpiomon', ['--edges', 'both', 'GPIO23'], V2);
    await kernel.waitForHolder('GPIO23');
    const second = tool('gpiomon', ['--edges', 'both', 'GPIO23'], V2);
    const stderr = stderrOf(second);
    assert.equal((await exited(second)).code, 1);
    assert.match(stderr(), /unable to request lines on chip \/dev\/gpiochip0: Device or resource busy/);
    first.kill('SIGTERM');
  });
});

describe('int line: IntLineWatcher', () => {
  let kernel: FakeGpioKernel;
  let watchers: IntLineWatcher[] = [];
  const holders: ChildProcess[] = [];

  const make = (version: string, options: Partial<IntLineWatcherOptions> = {}, env: NodeJS.ProcessEnv = {}) => {
    const w = new IntLineWatcher({
      line: 'GPIO23',
      env: kernel.env(version, env),
      retryInitial: 40,
      retryMax: 160,
      settleTime: 100,
      killTimeout: 1500,
      ...options,
    });
    watchers.push(w);
    return w;
  };

  /**
   * Watching, and the line really held by this watcher's gpiomon: "watching" follows a settle time
   * (gpiomon prints nothing on success), and a node-based fake may start slower than that.
   */
  const ready = async (w: IntLineWatcher) => {
    const s = await statusWhere(w, state('watching'));
    await until(() => w.pid !== undefined && kernel.holder('GPIO23')?.pid === w.pid, 8000, 'gpiomon holding the line');
    return s;
  };

  /** Another program holding the line (a second gpiomon). */
  const holdLine = async () => {
    const child = spawn(path.join(fakeGpioDir(), 'gpiomon'), ['--edges', 'both', 'GPIO23'], { env: kernel.env(V2), stdio: 'ignore' });
    holders.push(child);
    await kernel.waitForHolder('GPIO23');
    return child;
  };

  beforeEach(async () => {
    kernel = new FakeGpioKernel();
    await kernel.start();
  });

  afterEach(async () => {
    await Promise.all(watchers.map((w) => w.stop()));
    watchers = [];
    for (const c of holders.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await exited(c);
    }
    // Every fake tool this process started has exited and been reaped.
    await until(() => fakeToolProcesses().length === 0, 3000, 'no fake gpio processes left').catch(() => undefined);
    const left = fakeToolProcesses();
    await kernel.close();
    assert.deepEqual(left, [], 'leftover gpiomon/gpiofind processes');
  });

  for (const version of [V1, V2]) {
    describe(`libgpiod v${version}`, () => {
      const v1 = version === V1;

      it('runs the exact command line, finding the line by name', async () => {
        const w = make(version);
        w.start();
        const watching = await ready(w);
        assert.equal(watching.version, version);
        assert.match(watching.message, /watching GPIO23/);
        const requests = kernel.requests();
        assert.equal(requests.length, 1);
        if (v1) {
          assert.deepEqual(kernel.finds().map((f) => f.argv), [['GPIO23']], 'gpiofind GPIO23');
          assert.deepEqual(requests[0].argv, ['--line-buffered', '--format=%e %o %s.%n', '--falling-edge', '--bias=pull-up', 'gpiochip0', '23']);
        } else {
          assert.equal(kernel.finds().length, 0, 'libgpiod 2 has no gpiofind: the name goes to gpiomon');
          assert.deepEqual(requests[0].argv, ['--edges', 'falling', '--bias', 'pull-up', '--format', '%E %o %S', 'GPIO23']);
        }
        assert.equal(requests[0].edges, 'falling');
        assert.equal(requests[0].bias, 'pull-up');
        assert.equal(w.pid, requests[0].pid);
      });

      it('reports falling edges only, parsed, one at a time', async () => {
        const w = make(version);
        w.start();
        await ready(w);
        assert.equal(kernel.level('GPIO23'), 1, 'the pull-up holds the idle line high');
        const got = edges(w, 3);
        for (const level of [0, 1, 0, 1, 0, 1] as const) kernel.setDrive('GPIO23', level);
        const list = await got;
        assert.deepEqual(list.map((e) => [e.edge, e.offset]), [['falling', 23], ['falling', 23], ['falling', 23]]);
        assert.ok(list.every((e) => Number.isInteger(e.sec) && e.nsec >= 0 && e.nsec < 1e9));
        // Line buffering (v1 -b): a single edge arrives on its own, not 4 KiB later.
        const one = edges(w, 1);
        kernel.setDrive('GPIO23', 0);
        assert.equal((await one)[0].edge, 'falling');
      });

      it('rising, both, and the bias variants', async () => {
        const w = make(version, { edge: 'both', bias: 'as-is' });
        w.start();
        await ready(w);
        const argv = kernel.requests()[0].argv;
        assert.ok(!argv.some((a) => a.includes('bias')), `as-is: no bias option (${argv.join(' ')})`);
        const got = edges(w, 2);
        kernel.setDrive('GPIO23', 1);
        kernel.setDrive('GPIO23', 0);
        assert.deepEqual((await got).map((e) => e.edge), ['rising', 'falling']);
        await w.stop();
        await kernel.waitForRelease('GPIO23');

        const r = make(version, { edge: 'rising', bias: 'disabled' });
        r.start();
        await ready(r);
        const argv2 = kernel.requests()[1].argv;
        assert.ok(argv2.includes(v1 ? '--bias=disable' : 'disabled'), argv2.join(' '));
        assert.equal(kernel.requests()[1].bias, 'disabled');
        const rising = edges(r, 1);
        kernel.setDrive('GPIO23', 1); // (the line was driven 0 above)
        assert.equal((await rising)[0].edge, 'rising');
      });

      it('line busy: says so and retries with a capped, doubling delay until the line is free', async () => {
        const holder = await holdLine();
        const w = make(version);
        const seen: IntLineStatus[] = [];
        w.on('status', (s) => seen.push(s));
        w.start();
        await until(() => seen.filter((s) => s.state === 'restarting').length >= 4, 8000, 'four restarts');
        const restarts = seen.filter((s) => s.state === 'restarting');
        assert.ok(restarts.every((s) => s.problem === 'busy'), JSON.stringify(restarts.map((s) => s.message)));
        assert.match(restarts[0].message, /GPIO23 is in use by another program \(Device or resource busy\)/);
        assert.match(restarts[0].message, /retrying in 40 ms/);
        assert.deepEqual(restarts.slice(0, 4).map((s) => s.retryInMs), [40, 80, 160, 160]);
        holder.kill('SIGTERM');
        await ready(w);
        assert.equal(kernel.holder('GPIO23')?.pid, w.pid);
      });

      it('permission denied: names the gpio group, and recovers once allowed', async () => {
        kernel.permissionDenied = true;
        const w = make(version);
        w.start();
        const s = await statusWhere(w, state('restarting'));
        // libgpiod 1 says "Permission denied"; libgpiod 2 skips chips it cannot open and reports the
        // line as not found, so that message names both causes.
        assert.equal(s.problem, v1 ? 'permission' : 'not-found');
        assert.match(s.message, /"gpio" group \(sudo adduser \S+ gpio\)/);
        if (v1) assert.match(s.message, /Permission denied/);
        kernel.permissionDenied = false;
        await ready(w);
      });

      it('a line name that does not exist: not found, retried', async () => {
        const w = make(version, { line: 'GPIO99' });
        w.start();
        const s = await statusWhere(w, state('restarting'));
        assert.equal(s.problem, 'not-found');
        assert.match(s.message, /no GPIO line named "GPIO99"/);
        assert.equal(kernel.requests().length, v1 ? 0 : 1, v1 ? 'gpiofind failed first' : 'gpiomon looked it up');
      });

      it('gpiomon failing while watching: restarted, and edges flow again', async () => {
        const w = make(version);
        w.start();
        await ready(w);
        const first = w.pid!;
        kernel.failHolder('GPIO23');
        const s = await statusWhere(w, state('restarting'));
        assert.equal(s.problem, 'exited');
        assert.match(s.message, /gpiomon exited with code 1: gpiomon: error waiting for events: Input\/output error/);
        await ready(w);
        assert.notEqual(w.pid, first);
        assert.equal(alive(first), false);
        const got = edges(w, 1);
        kernel.setDrive('GPIO23', 0);
        assert.equal((await got)[0].edge, 'falling');

        process.kill(w.pid!, 'SIGKILL');
        const killed = await statusWhere(w, state('restarting'));
        assert.match(killed.message, /gpiomon was killed by SIGKILL/);
        await ready(w);
      });

      it('gpiomon not installed: status "missing" with the apt command, no restart', async () => {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'iopi-nopath-'));
        try {
          const w = new IntLineWatcher({ line: 'GPIO23', env: { PATH: empty }, retryInitial: 20 });
          watchers.push(w);
          const seen: IntLineStatus[] = [];
          w.on('status', (s) => seen.push(s));
          w.start();
          const s = await statusWhere(w, state('missing'));
          assert.equal(s.problem, 'not-installed');
          assert.match(s.message, /gpiomon .*not found: install it with "sudo apt install gpiod"/);
          await delay(200); // ten retry delays
          assert.deepEqual(seen.map((x) => x.state), ['starting', 'missing'], 'no restart');
        } finally {
          fs.rmSync(empty, { recursive: true, force: true });
        }
      });

      it('stop() ends gpiomon, waits for it, releases the line, removes listeners', async () => {
        const w = make(version);
        const seen: string[] = [];
        w.on('status', (s) => seen.push(s.state));
        w.on('edge', () => undefined);
        w.start();
        await ready(w);
        const pid = w.pid!;
        assert.ok(alive(pid));
        await w.stop();
        assert.equal(alive(pid), false, 'gpiomon has exited and been reaped');
        assert.equal(fakeToolProcesses().length, 0);
        assert.equal(w.pid, undefined);
        assert.deepEqual(seen.slice(-1), ['stopped']);
        assert.equal(w.listenerCount('status') + w.listenerCount('edge'), 0);
        await kernel.waitForRelease('GPIO23');
        await w.stop(); // idempotent
      });
    });
  }

  it('stop() kills a gpiomon that ignores SIGTERM', async () => {
    const w = make(V2, { killTimeout: 200 }, { FAKE_GPIOD_IGNORE_TERM: '1' });
    w.start();
    await ready(w);
    const pid = w.pid!;
    const t0 = Date.now();
    await w.stop();
    assert.equal(alive(pid), false);
    assert.ok(Date.now() - t0 >= 190, 'it took the SIGKILL after killTimeout');
  });

  it('stop() while probing or waiting to restart leaves nothing behind and starts nothing new', async () => {
    const a = make(V1);
    a.start();
    await a.stop(); // during `gpiomon --version`
    await holdLine();
    const b = make(V2, { retryInitial: 100 });
    b.start();
    await statusWhere(b, state('restarting'));
    const before = kernel.requests().length;
    await b.stop();
    await delay(250);
    assert.equal(kernel.requests().length, before, 'no attempt after stop()');
  });

  it('v1 without gpiofind: missing', async () => {
    const w = make(V1, { gpiofind: '/nonexistent/gpiofind' });
    w.start();
    const s = await statusWhere(w, state('missing'));
    assert.match(s.message, /\/nonexistent\/gpiofind not found/);
  });

  it('options rejected by gpiomon (a mis-detected version) and too-old versions fail for good', async () => {
    const w = make(V2, {}, { FAKE_GPIOD_REPORT_VERSION: V1 });
    w.start();
    const s = await statusWhere(w, state('failed'));
    assert.equal(s.problem, 'incompatible');
    assert.match(s.message, /rejected our options: gpiomon: unrecognized option '--line-buffered'/);

    const old = make('1.4.1');
    old.start();
    const o = await statusWhere(old, state('failed'));
    assert.match(o.message, /cannot set the line bias/);
    await delay(200);
    assert.equal(old.status.state, 'failed', 'no restart');
  });

  it('unexpected output is reported as an error event and ignored', async () => {
    const w = make(V2, {}, { FAKE_GPIOD_JUNK: 'something else' });
    const errors: Error[] = [];
    w.on('error', (e) => errors.push(e));
    w.start();
    await ready(w);
    await until(() => errors.length > 0, 8000, 'an error event');
    assert.match(errors[0].message, /unexpected output from gpiomon: "something else"/);
    const got = edges(w, 1);
    kernel.setDrive('GPIO23', 0);
    assert.equal((await got)[0].edge, 'falling');
  });

  it('gpiomon by absolute path (command override)', async () => {
    const w = make(V2, { gpiomon: path.join(fakeGpioDir(), 'gpiomon') }, { PATH: path.dirname(process.execPath) });
    w.start();
    await ready(w);
  });
});
