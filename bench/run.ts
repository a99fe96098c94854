/**
 * npm run bench [-- --json]: bus cost, latency, missed short presses and output throughput of our
 * nodes (iopi-chip + iopi-in + iopi-out under node-red-node-test-helper, simulated chips) against
 * the approach most existing MCP23017 nodes take (bench/baseline.ts), on the same simulated buses,
 * in the same process, with the wire-time model of bench/wire-time.ts (real delays, 100 kHz; the
 * 400 kHz figures are extra runs or, for utilisation, the same bits at 400 kHz).
 *
 * A script, not a test: no assertions; it prints a table (or one JSON object with --json) and exits 0.
 * Progress goes to stderr.
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-require-imports */
import fs from 'node:fs';
import os from 'node:os';
import { nodeRedDir, nodeRedPath, nodeRedVersion, requireFromProject } from '../test/helpers/red';
import * as sim from '../lib/simulator';
import baselineModule, { setBaselineBackend } from './baseline';
import { Mcp23017 } from '../lib';
import { ChipSupervisor } from '../lib/supervisor';
import { trackChip } from '../nodes/iopi-admin';
import { BITS, nowNs, preciseSleep, wiredBackend, type WireTransaction } from './wire-time';

const chipModule = require('../nodes/iopi-chip').default;
const inModule = require('../nodes/iopi-in').default;
const outModule = require('../nodes/iopi-out').default;

const JSON_OUT = process.argv.includes('--json');
const QUICK = process.argv.includes('--quick'); // fewer events: a smoke run, figures less precise
const progress = (text: string) => process.stderr.write(`bench: ${text}\n`);
if (JSON_OUT) console.log = console.info = console.error; // keep stdout for the one JSON object

const helper: any = requireFromProject('node-red-node-test-helper');
const hooks: any = require(require.resolve('@node-red/util', { paths: [nodeRedDir()] })).hooks;

// ------------------------------------------------------------------------------------------------
// The wired simulator: our nodes open the simulator through `simulatorBackend`, so its opener is
// swapped for the wired one (same registry name, same chips); the baseline opens the same wire.
const originalOpen = sim.simulatorBackend.open;
const wire = wiredBackend(originalOpen, 'simulator');
(sim.simulatorBackend as { open: typeof originalOpen }).open = wire.open;
setBaselineBackend(wire);

const ADDRESS = 0x20;
const TAB = 'bench';
const KHZ100 = 100_000;
const KHZ400 = 400_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const uniform = (a: number, b: number) => a + Math.random() * (b - a);
const round = (x: number, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? x : Number(x.toFixed(digits)));

/** Verify reads (IODIR..GPPU, OLAT): periodic, not caused by an event or a message. */
const isVerify = (t: WireTransaction) => t.method === 'readI2cBlock' && ((t.register === 0x00 && t.length === 14) || (t.register === 0x14 && t.length === 2));

function txIn(bus: number, fromNs: number, toNs: number, filter: (t: WireTransaction) => boolean = () => true) {
  const list = wire.stats(bus).log.filter((t) => t.start >= fromNs && t.start < toNs && filter(t));
  return { transactions: list.length, bytes: list.reduce((s, t) => s + t.bytes, 0), bits: list.reduce((s, t) => s + t.bits, 0) };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

// ------------------------------------------------------------------------------------------------
// Flows

const chipCfg = (id: string, bus: number, mode: 'poll' | 'intline', pollInterval: number) => ({
  id, type: 'iopi-chip', name: '', bus, address: ADDRESS, interruptMode: mode, pollInterval,
  intLine: 'GPIO23', mirror: true, openDrain: true, activeHigh: false, simulate: true,
});
const inCfg = (id: string, chip: string, sink: string) => ({
  id, type: 'iopi-in', z: TAB, name: '', chip, target: 'pins', pins: [1], output: 'pin', edge: 'both',
  debounce: 0, initial: false, pullup: true, invert: true, topic: '', wires: [[sink]],
});
const baseInCfg = (id: string, bus: number, pollInterval: number, sink: string) => ({
  id, type: 'bench-baseline-in', z: TAB, bus, address: ADDRESS, pollInterval, pins: [1], wires: [[sink]],
});
const sinkCfg = (id: string) => ({ id, type: 'helper', z: TAB });

async function load(nodes: object[]): Promise<void> {
  for (const n of nodes as any[]) if (n.type === 'bench-baseline-in' || n.type === 'bench-baseline-out') sim.chip(n.bus, ADDRESS);
  await helper.load([chipModule, inModule, outModule, baselineModule], [{ id: TAB, type: 'tab', label: 'bench' }, ...nodes]);
  // The helper spies (sinon) on Node.prototype.send/status/log... and records every call: fine for a
  // test, but not what a deployed flow pays. Take the spies off so the figures are the runtime's.
  helper._sandbox.restore();
}

async function ready(ids: string[]): Promise<void> {
  for (const id of ids) {
    const node = helper.getNode(id);
    if (node.type === 'iopi-chip') {
      const start = Date.now();
      while (!node.online) {
        if (Date.now() - start > 5000) throw new Error(`${id} did not come online`);
        await sleep(2);
      }
    } else {
      await node.ready;
    }
  }
  await sleep(50); // the first service read (the input baseline) is done
}

/** Records each send of a node (the moment it calls send) and lets a caller wait for the next one. */
class SendProbe {
  private waiter: ((t: number | undefined) => void) | undefined;
  constructor(nodeId: string) {
    const node = helper.getNode(nodeId);
    const original = node.send.bind(node);
    node.send = (msg: any) => {
      const t = nowNs();
      const w = this.waiter;
      this.waiter = undefined;
      w?.(t);
      return original(msg);
    };
  }
  /** The time of the next send, or undefined after `timeoutMs`. */
  next(timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.waiter = (t) => {
        clearTimeout(timer);
        resolve(t);
      };
    });
  }
}

// ------------------------------------------------------------------------------------------------
// Runs

interface LatencyRun {
  latencies: number[];
  missed: number;
  transactions: number;
  bytes: number;
}

/**
 * Toggles pin 1 (press = drive low, release = let the pull-up win) `events` times; each time waits
 * for the node's send, then `settleMs` for follow-up reads, then a random gap. Latency = setInput to
 * send. Transactions of the event = those starting from the pin change until the end of the settle
 * time (the detecting read and any re-read; periodic verify reads excluded).
 */
async function latencyRun(bus: number, sendingNode: string, events: number, settleMs: number, gap: () => number, warmup = 10, slowMs = Infinity): Promise<LatencyRun> {
  const probe = new SendProbe(sendingNode);
  const chip = sim.chip(bus, ADDRESS);
  let run: LatencyRun = { latencies: [], missed: 0, transactions: 0, bytes: 0 };
  for (let i = 0; i < events + warmup; i++) {
    if (i === warmup) run = { latencies: [], missed: 0, transactions: 0, bytes: 0 }; // the first ones warm the JIT up
    await sleep(gap());
    const next = probe.next(1000);
    const t0 = nowNs();
    chip.setInput(1, i % 2 === 0 ? 0 : null);
    const t1 = await next;
    if (t1 === undefined) {
      run.missed++;
      continue;
    }
    run.latencies.push((t1 - t0) / 1e6);
    await preciseSleep(settleMs);
    if (process.env.BENCH_DEBUG && (t1 - t0) / 1e6 > slowMs && i >= warmup) {
      const around = wire.stats(bus).log.filter((t) => t.end > t0 - 5e6 && t.start < t1).map((t) => `${t.method}@0x${t.register?.toString(16)}x${t.length} ${((t.start - t0) / 1e6).toFixed(3)}..${((t.end - t0) / 1e6).toFixed(3)}`);
      progress(`slow event ${((t1 - t0) / 1e6).toFixed(3)} ms on bus ${bus}: ${around.join(', ')}`);
    }
    const tx = txIn(bus, t0, nowNs(), (t) => !isVerify(t));
    run.transactions += tx.transactions;
    run.bytes += tx.bytes;
  }
  return run;
}

const summary = (run: LatencyRun) => (process.env.BENCH_DEBUG && progress(`latencies (top 5): ${[...run.latencies].sort((a, b) => b - a).slice(0, 5).map((x) => x.toFixed(3)).join(' ')}`), {
  p50: round(percentile(run.latencies, 50), 3),
  p99: round(percentile(run.latencies, 99), 3),
  events: run.latencies.length,
  missed: run.missed,
});
const perEvent = (run: LatencyRun) => ({
  transactions: round(run.transactions / Math.max(1, run.latencies.length), 2),
  bytes: round(run.bytes / Math.max(1, run.latencies.length), 1),
});

/**
 * Pulses of `widthMs` on pin 1, at random phases against the 200 ms poll (start-to-start at least
 * one poll period + the pulse apart, so that every pulse has its own poll), counting the messages
 * (press and release) that reach the sink.
 */
async function shortPresses(bus: number, sink: string, widthMs: number, pulses: number): Promise<number> {
  const chip = sim.chip(bus, ADDRESS);
  let reported = 0;
  helper.getNode(sink).on('input', () => reported++);
  for (let i = 0; i < pulses; i++) {
    await sleep(uniform(210, 410) + widthMs);
    const p0 = nowNs();
    chip.setInput(1, 0);
    await preciseSleep(widthMs);
    chip.setInput(1, null);
    const p1 = nowNs();
    if (process.env.BENCH_DEBUG) {
      const polls = wire.stats(bus).log.filter((t) => t.start < p1 && t.end > p0 && !isVerify(t)).length;
      if (polls || (p1 - p0) / 1e6 > widthMs * 1.2 + 0.5) progress(`pulse ${widthMs} ms on bus ${bus}: lasted ${((p1 - p0) / 1e6).toFixed(3)} ms, ${polls} reads during it`);
    }
  }
  await sleep(450); // two more polls
  return reported / (2 * pulses);
}

interface OutputRun {
  msgsPerS: number;
  transactionsPerMsg: number;
  bytesPerMsg: number;
  messages: number;
  done: number;
  finalStateOk: boolean;
}

/**
 * Sends `count` pin writes (pins 1-8 of port 0, set mode) one per event-loop turn; counts done()s.
 * `bursts`: iopi-out's Bursts option, every state written (the default) or the latest value only.
 */
async function outputRun(kind: 'ours' | 'baseline', bus: number, clockHz: number, count: number, bursts: 'every' | 'latest' = 'every'): Promise<OutputRun> {
  wire.clockHz = clockHz;
  const outType = kind === 'ours'
    ? { id: 'out', type: 'iopi-out', z: TAB, name: '', chip: 'chip', target: 'pins', pins: [1, 2, 3, 4, 5, 6, 7, 8], port: 0, mode: 'set', pulse: 1000, initial: '', passthrough: false, msgTarget: true, burst: bursts, wires: [] }
    : { id: 'out', type: 'bench-baseline-out', z: TAB, bus, address: ADDRESS, port: 0, wires: [] };
  const flow: object[] = [{ id: 'src', type: 'bench-source', z: TAB, wires: [['out']] }, outType];
  if (kind === 'ours') flow.push(chipCfg('chip', bus, 'poll', 50));
  await load(flow);
  await ready([kind === 'ours' ? 'chip' : 'out']);
  const src = helper.getNode('src');
  let done = 0;
  let lastDone = 0;
  let target = 0;
  let reached: () => void = () => undefined;
  hooks.add('onComplete.iopibench', (event: any) => {
    if (event.node?.id !== 'out') return;
    done++;
    lastDone = nowNs();
    if (done === target) reached();
  });
  /** Sends the messages and waits for all their done() calls (at most 60 s). */
  const burst = async (msgs: object[]) => {
    done = 0;
    target = msgs.length;
    const finished = new Promise<void>((resolve) => (reached = resolve));
    const t0 = nowNs();
    await src.burst(msgs);
    let guard: NodeJS.Timeout | undefined;
    await Promise.race([finished, new Promise<void>((resolve) => (guard = setTimeout(resolve, 60_000)))]);
    clearTimeout(guard);
    return t0;
  };
  const pattern = (n: number) => Array.from({ length: n }, (_, i) => ({ pin: (i % 8) + 1, payload: ((i >> 3) & 1) === 0 }));
  await burst(pattern(Math.ceil(count / 10))); // warm-up (JIT), not counted
  await sleep(20);
  // Three measured bursts; the rate is their median (a busy VM varies), the cost their total.
  const rates: number[] = [];
  let transactions = 0;
  let bytes = 0;
  let doneTotal = 0;
  let finalStateOk = true;
  for (let r = 0; r < 3; r++) {
    const msgs = pattern(count);
    let expected = sim.chip(bus, ADDRESS).register(0x14);
    for (const m of msgs) expected = m.payload ? expected | (1 << (m.pin - 1)) : expected & ~(1 << (m.pin - 1));
    const t0 = await burst(msgs);
    const tx = txIn(bus, t0, lastDone + 1, (t) => !isVerify(t));
    rates.push(done / ((lastDone - t0) / 1e9));
    transactions += tx.transactions;
    bytes += tx.bytes;
    doneTotal += done;
    finalStateOk &&= done === count && (sim.chip(bus, ADDRESS).register(0x14) & 0xff) === (expected & 0xff);
    await sleep(20);
  }
  hooks.remove('*.iopibench');
  await helper.unload();
  wire.clockHz = KHZ100;
  return {
    msgsPerS: round(percentile(rates, 50), 0),
    transactionsPerMsg: round(transactions / doneTotal, 4),
    bytesPerMsg: round(bytes / doneTotal, 3),
    messages: count,
    done: doneTotal,
    finalStateOk,
  };
}

// ------------------------------------------------------------------------------------------------

/**
 * The editor's live pin view: time from a simulated pin change to the state being published on the
 * comms topic the "IO Pi" sidebar listens to (iopi/chip/<id>), with the new level. `viaBus`: the chip
 * is watched as a real one (its levels come from the 50 ms polling service reads); otherwise as a
 * simulated one (the sidebar reads the simulator itself).
 */
async function editorPushRun(bus: number, viaBus: boolean, events: number): Promise<number[]> {
  const chip = sim.chip(bus, ADDRESS);
  const driver = new Mcp23017({ busNumber: bus, address: ADDRESS, backend: sim.simulatorBackend });
  const supervisor = new ChipSupervisor(driver, { pollInterval: 50 });
  let waiting: { level: 0 | 1; t0: number; resolve: (ms: number) => void } | undefined;
  const RED = {
    comms: {
      publish(_topic: string, data: any) {
        const level = data?.pins?.[0]?.level;
        if (waiting && level === waiting.level) {
          const w = waiting;
          waiting = undefined;
          w.resolve((nowNs() - w.t0) / 1e6);
        }
      },
    },
  } as any;
  const node = { id: `push${bus}`, name: 'bench', warn: () => undefined } as any;
  supervisor.subscribeInputs(0xffff, { baseline: () => undefined, changes: () => undefined });
  supervisor.start();
  await driver.configurePins({ mask: 0x0001, pullup: 0x0001 });
  await sleep(200);
  const view = trackChip(RED, {
    node, busNumber: bus, address: ADDRESS, simulated: !viaBus, driver, supervisor,
    status: () => ({ fill: 'green', shape: 'dot', text: 'iopi-chip.status.online' }), online: () => true,
  });
  await sleep(200);
  const samples: number[] = [];
  let level: 0 | 1 = 1;
  for (let i = 0; i < events + 5; i++) {
    await sleep(uniform(60, 160));
    level = level ? 0 : 1;
    const ms = await new Promise<number>((resolve) => {
      const wait = { level, t0: nowNs(), resolve: (value: number) => { clearTimeout(timer); resolve(value); } };
      const timer = setTimeout(() => {
        if (waiting === wait) waiting = undefined;
        resolve(NaN); // counted as missed
      }, 2000);
      waiting = wait;
      chip.setInput(1, level);
    });
    if (i >= 5) samples.push(ms);
  }
  view.stop();
  await supervisor.stop();
  await driver.close();
  return samples;
}

function machine() {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => /^model name\s*:/.test(l));
    if (line) cpuModel = line.split(':')[1].trim();
  } catch {
    /* not Linux */
  }
  return {
    nproc: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    cpu_model: cpuModel,
    node: process.version,
    node_red: nodeRedVersion(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

async function main() {
  const started = Date.now();
  helper.init(nodeRedPath());
  sim.reset();
  wire.clockHz = KHZ100;

  // --- Phase 1: idle bus cost (7 chips, 10 s window) and short presses (6 chips), concurrently ---
  progress(`idle bus cost and short presses (about ${QUICK ? 8 : 19} s)`);
  const idleWindowS = QUICK ? 6 : 15;
  const pulses = QUICK ? 10 : 50;
  const widths = [1, 5, 20];
  const idleOurs: Record<string, { bus: number; mode: 'poll' | 'intline'; poll: number }> = {
    int_line: { bus: 10, mode: 'intline', poll: 50 },
    poll_10ms: { bus: 11, mode: 'poll', poll: 10 },
    poll_50ms: { bus: 12, mode: 'poll', poll: 50 },
    poll_200ms: { bus: 13, mode: 'poll', poll: 200 },
  };
  const idleBase: Record<string, number> = { poll_10ms: 21, poll_50ms: 22, poll_200ms: 23 };
  const flow1: object[] = [];
  for (const [key, c] of Object.entries(idleOurs)) {
    flow1.push(chipCfg(`chip_${key}`, c.bus, c.mode, c.poll), inCfg(`in_${key}`, `chip_${key}`, `sink_${key}`), sinkCfg(`sink_${key}`));
  }
  for (const [key, bus] of Object.entries(idleBase)) flow1.push(baseInCfg(`base_${key}`, bus, Number(key.match(/\d+/)![0]), `bsink_${key}`), sinkCfg(`bsink_${key}`));
  widths.forEach((w, i) => {
    flow1.push(chipCfg(`chip_sp${w}`, 31 + i, 'poll', 200), inCfg(`in_sp${w}`, `chip_sp${w}`, `sink_sp${w}`), sinkCfg(`sink_sp${w}`));
    flow1.push(baseInCfg(`base_sp${w}`, 41 + i, 200, `bsink_sp${w}`), sinkCfg(`bsink_sp${w}`));
  });
  await load(flow1);
  await ready((flow1 as any[]).filter((n) => n.type === 'iopi-chip' || n.type === 'bench-baseline-in').map((n) => n.id));
  const shortOurs = widths.map((w, i) => shortPresses(31 + i, `sink_sp${w}`, w, pulses));
  const shortBase = widths.map((w, i) => shortPresses(41 + i, `bsink_sp${w}`, w, pulses));
  // The window starts 2 s after the flow is up, so that the verify reads (every 5 s from the
  // connect) fall inside it at their steady rate (three in 15 s).
  await sleep(1950);
  const w0 = nowNs();
  await sleep(idleWindowS * 1000);
  const w1 = nowNs();
  const idleOf = (bus: number) => {
    const tx = txIn(bus, w0, w1);
    const s = (w1 - w0) / 1e9;
    return {
      transactions_per_s: round(tx.transactions / s, 2),
      bytes_per_s: round(tx.bytes / s, 1),
      utilisation_pct_100khz: round((tx.bits / s / KHZ100) * 100, 3),
      utilisation_pct_400khz: round((tx.bits / s / KHZ400) * 100, 3),
    };
  };
  const idle = Object.fromEntries(Object.entries(idleOurs).map(([k, c]) => [k, idleOf(c.bus)]));
  const idleB = Object.fromEntries(Object.entries(idleBase).map(([k, bus]) => [k, idleOf(bus)]));
  const spOurs = await Promise.all(shortOurs);
  const spBase = await Promise.all(shortBase);
  await helper.unload();

  // --- Phase 2: INT-line latency and transactions per event, 100 and 400 kHz ---
  progress('INT-line latency (about 5 s)');
  const intEvents = QUICK ? 60 : 200;
  await load([chipCfg('chip', 50, 'intline', 50), inCfg('in', 'chip', 'sink'), sinkCfg('sink')]);
  await ready(['chip']);
  wire.clockHz = KHZ100;
  const int100 = await latencyRun(50, 'in', intEvents, 5, () => uniform(3, 13), 10, 2);
  wire.clockHz = KHZ400;
  const int400 = await latencyRun(50, 'in', intEvents, 5, () => uniform(3, 13), 10, 1);
  wire.clockHz = KHZ100;
  await helper.unload();

  // --- Phase 3: polling latency at 50 ms, ours and baseline side by side ---
  progress('polling latency at 50 ms, ours and baseline (about 9 s)');
  const pollEvents = QUICK ? 40 : 150;
  await load([
    chipCfg('chip', 60, 'poll', 50), inCfg('in', 'chip', 'sink'), sinkCfg('sink'),
    baseInCfg('base', 61, 50, 'bsink'), sinkCfg('bsink'),
  ]);
  await ready(['chip', 'base']);
  const [poll50, poll50B] = await Promise.all([
    latencyRun(60, 'in', pollEvents, 5, () => uniform(0, 50)),
    latencyRun(61, 'base', pollEvents, 5, () => uniform(0, 50)),
  ]);
  await helper.unload();

  // --- Phase 4: output throughput ---
  progress('output throughput (about 12 s)');
  const oursCount = QUICK ? 4000 : 20000;
  const baseCount = QUICK ? 500 : 2000;
  const out100 = await outputRun('ours', 70, KHZ100, oursCount);
  const out400 = await outputRun('ours', 71, KHZ400, oursCount);
  const out100L = await outputRun('ours', 74, KHZ100, oursCount, 'latest');
  const out400L = await outputRun('ours', 75, KHZ400, oursCount, 'latest');
  const out100B = await outputRun('baseline', 72, KHZ100, baseCount);
  const out400B = await outputRun('baseline', 73, KHZ400, baseCount);

  // --- Phase 5: the editor's live pin view ---
  progress('editor push latency (about 6 s)');
  const pushEvents = QUICK ? 15 : 40;
  const [pushSim, pushBus] = await Promise.all([editorPushRun(80, false, pushEvents), editorPushRun(81, true, pushEvents)]);
  const pushSummary = (v: number[]) => {
    const ok = v.filter((x) => Number.isFinite(x));
    return { p50: round(percentile(ok, 50), 2), p99: round(percentile(ok, 99), 2), max: round(Math.max(...ok), 2), missed: v.length - ok.length };
  };

  // --- Clean up ---
  hooks.remove('*.iopibench');
  (sim.simulatorBackend as { open: typeof originalOpen }).open = originalOpen;
  sim.reset();

  const idleTx = (o: Record<string, any>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.transactions_per_s]));
  const utilisation = (o: Record<string, any>) => ({
    '100kHz': Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === null ? null : v.utilisation_pct_100khz])),
    '400kHz': Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === null ? null : v.utilisation_pct_400khz])),
  });
  const idleBWithNull = { int_line: null, ...idleB };
  const result = {
    event_transactions: { int_line: perEvent(int100), poll_50ms: perEvent(poll50) },
    idle_transactions_per_s: idleTx(idle),
    latency_ms: { int_line: summary(int100), poll_50ms: summary(poll50) },
    short_press_reported: Object.fromEntries(widths.map((w, i) => [`${w}ms`, round(spOurs[i], 3)])),
    output_msgs_per_s: out100.msgsPerS,
    output_transactions_per_msg: out100.transactionsPerMsg,
    idle_bytes_per_s: Object.fromEntries(Object.entries(idle).map(([k, v]) => [k, v.bytes_per_s])),
    idle_bus_utilisation_pct: utilisation(idle),
    output_bytes_per_msg: out100.bytesPerMsg,
    output_final_state_ok: out100.finalStateOk && out400.finalStateOk,
    output_latest_only: {
      msgs_per_s: out100L.msgsPerS,
      transactions_per_msg: out100L.transactionsPerMsg,
      final_state_ok: out100L.finalStateOk && out400L.finalStateOk,
      at_400khz: { msgs_per_s: out400L.msgsPerS, transactions_per_msg: out400L.transactionsPerMsg },
    },
    editor_push_ms: { simulated: pushSummary(pushSim), poll_50ms: pushSummary(pushBus) },
    at_400khz: {
      latency_ms: { int_line: summary(int400) },
      event_transactions: { int_line: perEvent(int400) },
      output_msgs_per_s: out400.msgsPerS,
      output_transactions_per_msg: out400.transactionsPerMsg,
    },
    baseline: {
      event_transactions: { int_line: null, poll_50ms: perEvent(poll50B) },
      idle_transactions_per_s: { int_line: null, ...idleTx(idleB) },
      latency_ms: { int_line: null, poll_50ms: summary(poll50B) },
      short_press_reported: Object.fromEntries(widths.map((w, i) => [`${w}ms`, round(spBase[i], 3)])),
      output_msgs_per_s: out100B.msgsPerS,
      output_transactions_per_msg: out100B.transactionsPerMsg,
      idle_bytes_per_s: { int_line: null, ...Object.fromEntries(Object.entries(idleB).map(([k, v]) => [k, v.bytes_per_s])) },
      idle_bus_utilisation_pct: utilisation(idleBWithNull),
      output_bytes_per_msg: out100B.bytesPerMsg,
      output_final_state_ok: out100B.finalStateOk && out400B.finalStateOk,
      at_400khz: {
        latency_ms: { int_line: null },
        event_transactions: { int_line: null },
        output_msgs_per_s: out400B.msgsPerS,
        output_transactions_per_msg: out400B.transactionsPerMsg,
      },
    },
    method: {
      wire_time: 'real delay: each transaction holds its simulated bus for its bits at the clock (setImmediate loop on process.hrtime); 9 bits per byte (address and data) + start + stop, + repeated start for register reads',
      clock_hz: KHZ100,
      transaction_bits: { service_read_6: BITS.readBlock(6), read_byte: BITS.readByte, write_byte: BITS.writeByte },
      latency: `simulated pin change (setInput) to the node calling send, 100 kHz wire (at_400khz: 400 kHz); ${intEvents} events (INT line) / ${pollEvents} (polling) at random phases, after 10 warm-up events`,
      event_transactions: 'transactions from the pin change until 5 ms after the send (detecting read + re-reads; periodic verify reads excluded)',
      idle: `${idleWindowS} s window, one chip per bus, no input changes; utilisation = bits/s / clock`,
      short_press: `${pulses} pulses per width at random phases against a 200 ms poll (each pulse has its own poll period); fraction of presses and releases reported`,
      output: `${oursCount} (ours) / ${baseCount} (baseline) pin writes to pins 1-8 of port 0, set mode, one per event-loop turn from a source node, three bursts after a warm-up burst of a tenth of that; rate = median over the bursts of messages / (first send to last done()), transactions and bytes over all three`,
      editor_push: `${pushEvents} pin changes 60-160 ms apart, to the publish on iopi/chip/<id> (the IO Pi sidebar's topic) with the new level; simulated: the sidebar reads the simulated chip; poll_50ms: a chip watched like a real one, levels from 50 ms polling`,
      harness: 'node-red-node-test-helper with its sinon spies removed after load',
    },
    machine: machine(),
    duration_s: 0,
  };
  result.duration_s = round((Date.now() - started) / 1000, 1);

  if (JSON_OUT) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(table(result) + '\n');
}

// ------------------------------------------------------------------------------------------------
// Table

function table(r: any): string {
  const b = r.baseline;
  const fmt = (v: any, digits = 2): string => (v === null || v === undefined ? '—' : typeof v === 'number' ? String(round(v, digits)) : String(v));
  const ratio = (ours: any, base: any): string => (typeof ours === 'number' && typeof base === 'number' && base !== 0 ? `${round(ours / base, 3)}×` : '—');
  const rows: [string, any, any, string?][] = [];
  const row = (label: string, ours: any, base: any, digits = 2) => rows.push([label, fmt(ours, digits), fmt(base, digits), ratio(ours, base)]);
  const section = (label: string) => rows.push([label, '', '', '']);

  section('Bus cost per input event (transactions / bytes)');
  row('  INT line', `${r.event_transactions.int_line.transactions} / ${r.event_transactions.int_line.bytes} B`, null);
  row('  poll 50 ms', `${r.event_transactions.poll_50ms.transactions} / ${r.event_transactions.poll_50ms.bytes} B`, `${b.event_transactions.poll_50ms.transactions} / ${b.event_transactions.poll_50ms.bytes} B`);
  rows[rows.length - 1][3] = ratio(r.event_transactions.poll_50ms.transactions, b.event_transactions.poll_50ms.transactions);
  section('Idle transactions/s (bus use at 100 kHz / 400 kHz)');
  for (const k of ['int_line', 'poll_10ms', 'poll_50ms', 'poll_200ms']) {
    const label = k === 'int_line' ? '  INT line' : `  poll ${k.match(/\d+/)![0]} ms`;
    const u = r.idle_bus_utilisation_pct;
    const bu = b.idle_bus_utilisation_pct;
    rows.push([label,
      `${fmt(r.idle_transactions_per_s[k])} (${fmt(u['100kHz'][k], 3)}% / ${fmt(u['400kHz'][k], 3)}%)`,
      b.idle_transactions_per_s[k] === null ? '—' : `${fmt(b.idle_transactions_per_s[k])} (${fmt(bu['100kHz'][k], 3)}% / ${fmt(bu['400kHz'][k], 3)}%)`,
      ratio(r.idle_transactions_per_s[k], b.idle_transactions_per_s[k])]);
  }
  section('Latency, pin change to send (ms), p50 / p99');
  const lat = (x: any) => (x ? `${fmt(x.p50, 3)} / ${fmt(x.p99, 3)}` : null);
  row('  INT line, 100 kHz', lat(r.latency_ms.int_line), null);
  row('  INT line, 400 kHz', lat(r.at_400khz.latency_ms.int_line), null);
  row('  poll 50 ms, 100 kHz', lat(r.latency_ms.poll_50ms), lat(b.latency_ms.poll_50ms));
  rows[rows.length - 1][3] = ratio(r.latency_ms.poll_50ms.p50, b.latency_ms.poll_50ms.p50) + ' (p50)';
  section('Short presses at 200 ms polling: fraction reported');
  for (const k of ['1ms', '5ms', '20ms']) row(`  ${k} pulse`, r.short_press_reported[k], b.short_press_reported[k], 3);
  section('Output, pin writes to one port (set mode), every state written (default)');
  row('  messages/s, 100 kHz', r.output_msgs_per_s, b.output_msgs_per_s, 0);
  row('  messages/s, 400 kHz', r.at_400khz.output_msgs_per_s, b.at_400khz.output_msgs_per_s, 0);
  row('  transactions/message, 100 kHz', r.output_transactions_per_msg, b.output_transactions_per_msg, 4);
  row('  transactions/message, 400 kHz', r.at_400khz.output_transactions_per_msg, b.at_400khz.output_transactions_per_msg, 4);
  row('  final outputs as sent', r.output_final_state_ok ? 'yes' : 'NO', b.output_final_state_ok ? 'yes' : 'NO');
  section('Output, the same with Bursts: latest value only');
  const l = r.output_latest_only;
  row('  messages/s, 100 kHz', l.msgs_per_s, b.output_msgs_per_s, 0);
  row('  messages/s, 400 kHz', l.at_400khz.msgs_per_s, b.at_400khz.output_msgs_per_s, 0);
  row('  transactions/message, 100 kHz', l.transactions_per_msg, b.output_transactions_per_msg, 4);
  row('  transactions/message, 400 kHz', l.at_400khz.transactions_per_msg, b.at_400khz.output_transactions_per_msg, 4);
  row('  final outputs as sent', l.final_state_ok ? 'yes' : 'NO', b.output_final_state_ok ? 'yes' : 'NO');
  section('Editor live pin view: change to push (ms), p50 / p99 / max');
  const push = (x: any) => `${fmt(x.p50)} / ${fmt(x.p99)} / ${fmt(x.max)}${x.missed ? ` (${x.missed} missed)` : ''}`;
  row('  simulated chip', push(r.editor_push_ms.simulated), null);
  row('  chip polled every 50 ms', push(r.editor_push_ms.poll_50ms), null);

  const head = ['', 'ours', 'baseline', 'ours/baseline'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => String(x[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const m = r.machine;
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((x) => line(x.map((c) => c ?? '') as string[])),
    '',
    'Baseline: the usual MCP23017 node (poll GPIOA and GPIOB with two single-byte reads; a pin write reads GPIO and writes it back). No INT-line mode.',
    'Wire time: real delays (each transaction holds the simulated bus for 9 bits per byte + start/stop (+ repeated start) at 100 kHz, or 400 kHz where stated).',
    `Service read (6 bytes from 0x0E) = ${BITS.readBlock(6)} bits; single-byte read = ${BITS.readByte} bits; single-byte write = ${BITS.writeByte} bits.`,
    'Lower is better for cost and latency, higher for fractions reported and messages/s.',
    `Machine: ${m.nproc} CPU(s), ${m.cpu_model}, Node ${m.node}, Node-RED ${m.node_red}, ${m.platform}; run took ${r.duration_s} s.`,
  ].join('\n');
}

main().then(
  () => {
    // Everything is stopped; should a handle still be open, do not hang (and say so).
    setTimeout(() => {
      progress(`forced exit: still open: ${(process as any).getActiveResourcesInfo?.().join(', ')}`);
      process.exit(0);
    }, 3000).unref();
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
