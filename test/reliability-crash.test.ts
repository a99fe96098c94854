/**
 * Reliability: no I2C error can crash Node-RED, and the package installs no process-wide
 * handler that would hide one.
 *
 * A busy flow (every node type, two chips, one on the simulated INT line) runs while faults are
 * injected on every kind of transaction the driver makes (register read, register write, block read,
 * block write) with every kind of error (EIO, timeout, NACK; before or after reaching the chip), the
 * chips are unplugged and plugged back, and power glitches happen. The process must survive with no
 * unhandled rejection and no uncaught exception, every message must be answered (done or done(err)),
 * and once the faults stop both chips must come back by themselves with the latest outputs.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  BANK0, Transport, chipNode, collect, helper, inNode, load, online, outNode, pinEntry, setupNode, sim, sleep,
  useNodeHelper, waitFor,
} from './helpers/nodes';
import { projectRoot } from './helpers/red';
import type { Fault } from '../lib/simulator';

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

describe('reliability: no crash', function () {
  this.timeout(60000);
  useNodeHelper();

  it('lib/ and nodes/ install no process-wide handlers (uncaughtException, unhandledRejection, ...)', () => {
    const root = projectRoot();
    const files = [...sourceFiles(path.join(root, 'lib')), ...sourceFiles(path.join(root, 'nodes'))];
    assert.ok(files.length > 10, `${files.length} source files`);
    const pattern = /process\s*\.\s*(on|once|addListener|prependListener|prependOnceListener|setUncaughtExceptionCaptureCallback)\s*\(\s*(['"`](uncaughtException|unhandledRejection|uncaughtExceptionMonitor|rejectionHandled|warning)['"`])?/g;
    const found: string[] = [];
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(pattern)) {
        if (m[1] === 'setUncaughtExceptionCaptureCallback' || m[3]) found.push(`${path.relative(root, file)}: ${m[0]}`);
      }
    }
    assert.deepEqual(found, []);
  });

  it('I2C errors on every kind of transaction while a busy flow runs: the process survives, every message is answered, the chips recover', async () => {
    const unhandled: unknown[] = [];
    const uncaught: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtExceptionMonitor', onUncaught);
    try {
      const pinConfig = Array.from({ length: 16 }, (_, i) => (i >= 12 ? pinEntry({ use: true, dir: 'in', pullup: true, int: true }) : pinEntry()));
      const outIds: string[] = [];
      const nodes = [];
      for (const [n, address, mode] of [[1, 0x20, 'poll'], [2, 0x21, 'intline']] as const) {
        nodes.push(
          chipNode({ id: `chip${n}`, address, interruptMode: mode, pollInterval: 5, writeWait: 50 }),
          inNode({ id: `in${n}`, chip: `chip${n}`, pins: [9, 10, 11, 12], initial: true, wires: [['events']] }),
          outNode({ id: `a${n}`, chip: `chip${n}`, pins: [1] }),
          outNode({ id: `b${n}`, chip: `chip${n}`, pins: [2], mode: 'pulse', pulse: 7 }),
          outNode({ id: `p${n}`, chip: `chip${n}`, target: 'pins', pins: [3, 5, 7] }),
          setupNode({ id: `s${n}`, chip: `chip${n}`, pinConfig, setInt: true }),
        );
        outIds.push(`a${n}`, `b${n}`, `p${n}`, `s${n}`);
      }
      nodes.push({ id: 'events', type: 'helper' });
      await load(nodes as any, { completeScope: outIds });
      await online('chip1');
      await online('chip2');
      const completes = collect('completes');
      const errors = collect('errors');
      const chips = [sim.chip(1, 0x20), sim.chip(1, 0x21)];

      const methods = ['readByte', 'writeByte', 'readI2cBlock', 'writeI2cBlock'] as const;
      const kinds = ['eio', 'timeout', 'nack'] as const;
      let sent = 0;
      let step = 0;
      const last: Record<string, unknown> = {};
      // Every (method, error) pair once, half of them after reaching the chip; chip1 takes the
      // first half, chip2 the second. Each fault outlasts the transport's retries in place (an I/O
      // error or NACK 1 + 3 times, a timeout 1 + 1), so it is one outage and one recovery. A chip gets
      // its next fault once it is back online (a register read only happens at a reopen: a
      // block-read fault on the same chip forces one).
      const combos = methods.flatMap((method) => kinds.map((kind) => ({ method, kind })));
      const plans = [combos.slice(0, combos.length / 2), combos.slice(combos.length / 2)];
      const cursor = [0, 0];
      const pending: Fault[][] = [[], []];
      const faults: Fault[] = [];
      const start = Date.now();
      const elapsed = () => Date.now() - start;
      const events = new Set<string>();
      const stormDone = () => elapsed() > 3000 && cursor.every((c, i) => c === plans[i].length && pending[i].every((f) => !f.active));
      while (!stormDone()) {
        assert.ok(elapsed() < 25000, `storm still running: ${cursor} of ${plans.map((p) => p.length)}; online ${helper.getNode('chip1').online} ${helper.getNode('chip2').online}; pending ${pending.map((p) => p.map((f) => `${f.seen}/${f.failed}/${f.active}`))}`);
        step++;
        // the flow is busy: outputs, pulses, pin writes, setup messages, inputs
        for (const n of [1, 2]) {
          const a = step % 3 === 0;
          helper.getNode(`a${n}`).receive({ payload: a, from: `a${n}` });
          helper.getNode(`b${n}`).receive({ payload: true });
          helper.getNode(`p${n}`).receive({ payload: step % 2 === 0 ? 'on' : 'off', from: `p${n}` });
          sent += 3;
          if (step % 5 === 0) {
            // DEFVAL (unused: change mode) on both ports: a two-byte block write
            helper.getNode(`s${n}`).receive({ payload: { pins: { 8: { dir: step % 10 === 0 ? 'in' : 'out' } }, interruptDefault: step % 10 === 0 ? 0xffff : 0 } });
            sent++;
          }
          chips[n - 1].setInput(9 + (step % 4), step % 8 < 4 ? 0 : null);
        }
        // faults on every kind of transaction, every kind of error
        for (const i of [0, 1]) {
          const address = 0x20 + i;
          if (cursor[i] === plans[i].length || !helper.getNode(`chip${i + 1}`).online || pending[i].some((f) => f.active)) continue;
          const { method, kind } = plans[i][cursor[i]];
          const reachesChip = cursor[i] % 2 === 1;
          const times = kind === 'timeout' ? 2 : 4;
          pending[i] = [sim.injectFault({ address, methods: [method], error: kind, reachesChip, times, skip: method === 'readByte' ? 0 : step % 3 })];
          if (method === 'readByte') pending[i].push(sim.injectFault({ address, methods: ['readI2cBlock'], error: 'nack', times: 4 }));
          faults.push(...pending[i]);
          cursor[i]++;
        }
        // a loose data wire, a loose power wire, power glitches
        const at = (ms: number, what: string, fn: () => void) => { if (elapsed() >= ms && !events.has(what)) { events.add(what); fn(); } };
        at(800, 'unplug1', () => sim.unplug(1, 0x20));
        at(950, 'plug1', () => sim.plugIn(1, 0x20));
        at(1600, 'unplug2', () => sim.unplug(1, 0x21, { keepState: false }));
        at(1750, 'plug2', () => sim.plugIn(1, 0x21));
        at(2200, 'glitch1', () => chips[0].powerCycle());
        at(2500, 'glitch2', () => chips[1].powerCycle());
        await sleep(8);
      }
      const failedMethods = new Set<string>();
      for (const f of faults) for (const t of f.failures) failedMethods.add(t.method);
      sim.clearFaults();
      assert.deepEqual([...failedMethods].sort(), [...methods].sort(), 'faults hit every kind of transaction');

      // every message answered
      await waitFor(() => completes.length + errors.length >= sent, 15000, () => `answers: ${completes.length + errors.length} of ${sent}`);
      assert.ok(errors.length > 0, 'some messages failed');
      const texts = errors.map((e) => String(e.error.message));
      assert.ok(texts.every((t) => /^NotWrittenError: not written within 50 ms[: ]/.test(t)), `every failure says it was not written: ${texts.find((t) => !/^NotWrittenError: not written within 50 ms[: ]/.test(t))}`);
      assert.ok(texts.some((t) => /no device at 0x2[01] on \/dev\/i2c-1/.test(t)), 'the outage named in the errors');
      // The outputs of a chip are those of the last message that ended in done() (done(err): never written).
      for (const m of completes) if (typeof m.from === 'string') last[m.from] = m.from[0] === 'a' ? m.payload : m.payload === 'on' ? 0b1010100 : 0;

      // recovery by itself, with the latest outputs
      await waitFor(() => helper.getNode('chip1').online && helper.getNode('chip2').online, 15000, 'both chips back online');
      await sleep(100);
      for (const n of [1, 2]) {
        const c = chips[n - 1];
        assert.equal(c.pinLevel(1), last[`a${n}`] ? 1 : 0, `chip${n} pin 1 latest value`);
        assert.equal(c.register(BANK0.OLATA) & 0b1010100, last[`p${n}`], `chip${n} pins 3, 5, 7 latest value`);
        assert.equal(c.pinLevel(2), 0, `chip${n} pulse ended`);
      }
      // and it works normally
      const before = completes.length;
      for (const n of [1, 2]) helper.getNode(`p${n}`).receive({ payload: 'toggle' });
      await waitFor(() => completes.length === before + 2, 3000, 'writes after recovery complete');
      for (const n of [1, 2]) assert.equal(chips[n - 1].register(BANK0.OLATA) & 0b1010100, (last[`p${n}`] as number) ^ 0b1010100);
      await helper.unload();
      assert.equal(Transport.openCount(), 0);
      await sleep(20);
      assert.deepEqual(unhandled, [], 'no unhandled rejection');
      assert.deepEqual(uncaught, [], 'no uncaught exception');
    } finally {
      process.off('unhandledRejection', onUnhandled);
      process.off('uncaughtExceptionMonitor', onUncaught);
    }
  });
});
