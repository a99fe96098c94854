/**
 * Reliability, device faults in a deployed flow (node-red-node-test-helper, simulated chip,
 * faults from lib/simulator/faults.ts):
 * - a chip absent at deploy: red status, a log line naming bus, address and error, retries with
 *   growing delays, recovery by itself, then configuration and pending outputs applied;
 * - a chip vanishing mid-run: status within one service interval, writes meanwhile fail through
 *   done(err) (Catch node) and the latest desired state is applied after recovery;
 * - a power glitch: noticed by the next verify (every 5 s), configuration and outputs restored, a
 *   log line says so.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import {
  BANK0, chipNode, collect, helper, inNode, lastStatus, load, logs, online, outNode, pinEntry, setupNode,
  sim, sleep, statuses, useNodeHelper, waitFor,
} from './helpers/nodes';

/** Configuration registers (0x00-0x0D) and OLAT (0x14-0x15) of the simulated chip. */
function configRegisters(address = 0x20): number[] {
  const c = sim.chip(1, address);
  return [...Array.from({ length: 14 }, (_, i) => c.register(i)), c.register(BANK0.OLATA), c.register(BANK0.OLATB)];
}

/** A flow with every node type on chip1: in on pin 3, outs on pins 1 and 2, setup making pins 9-10 inputs with pull-ups. */
function flow(pollInterval: number, writeWait = 2000) {
  const pinConfig = Array.from({ length: 16 }, (_, i) => (i === 8 || i === 9 ? pinEntry({ use: true, dir: 'in', pullup: true }) : pinEntry()));
  return [
    chipNode({ pollInterval, writeWait }),
    inNode({ pins: [3], wires: [['events']] }),
    outNode({ id: 'out1', pins: [1], initial: '1' }),
    outNode({ id: 'out2', pins: [2] }),
    setupNode({ pinConfig }),
    { id: 'events', type: 'helper' },
  ];
}

/** Sends `msg` to an out node and waits for its done() or done(err); returns which. */
async function deliver(id: string, msg: Record<string, unknown>, completes: any[], errors: any[]): Promise<'ok' | 'error'> {
  const c = completes.length;
  const e = errors.length;
  helper.getNode(id).receive(msg);
  await waitFor(() => completes.length > c || errors.length > e, 3000, `done for ${JSON.stringify(msg)}`);
  return errors.length > e ? 'error' : 'ok';
}

describe('reliability: device faults in a deployed flow', function () {
  this.timeout(30000);
  useNodeHelper();

  it('chip absent at deploy: red status, one log line, steady probes, recovers by itself; writes meanwhile: done() if the chip answers within the wait time, else done(err) and never written', async () => {
    sim.chip(1, 0x20);
    sim.unplug(1, 0x20); // the board is there but does not answer (e.g. SDA not connected)
    await load(flow(20, 300), { completeScope: ['out1', 'out2'] });
    const chip = helper.getNode('chip1');
    const probes: number[] = [];
    chip.supervisor.on('status', (s: any) => { if (s.state === 'offline') probes.push(s.retryInMs); });
    const completes = collect('completes');
    const errors = collect('errors');

    await waitFor(() => lastStatus('out1')?.text === 'iopi-chip.status.nodevice', 2000, 'nodevice status');
    for (const id of ['in1', 'out1', 'out2', 'setup1']) {
      assert.equal(lastStatus(id).text, 'iopi-chip.status.nodevice', id);
      assert.equal(lastStatus(id).fill, 'red', id);
    }
    const warn = () => logs('warn').filter((l) => l.id === 'chip1');
    assert.ok(warn().some((l) => l.msg === 'no device at 0x20 on /dev/i2c-1 (Remote I/O error); trying again every 1 s'), JSON.stringify(warn()));

    // Writes while absent, not answered within the wait time (300 ms): done(err), and never written.
    assert.equal(await deliver('out2', { payload: true }, completes, errors), 'error');
    const err = errors[errors.length - 1].error;
    assert.equal(err.message, 'NotWrittenError: not written within 300 ms: no device at 0x20 on /dev/i2c-1 (Remote I/O error)');

    // Probes at a steady interval: the poll interval is shorter than a second, so every second.
    await waitFor(() => probes.length >= 2, 5000, 'two probes');
    assert.ok(probes.every((ms) => ms === 1000), `probe intervals ${probes}`);
    assert.equal(warn().length, 1, 'the same failure is logged once, not at every probe');
    assert.equal(sim.chip(1, 0x20).register(BANK0.IODIRA), 0xff, 'nothing was written');

    // A write sent just before the chip answers waits for it and is written: done().
    const waiting = helper.getNode('out1');
    const c0 = completes.length;
    waiting.receive({ payload: false });
    sim.plugIn(1, 0x20);
    await waitFor(() => chip.online === true, 5000, 'recovered by itself');
    await waitFor(() => completes.length > c0 || errors.length > 1, 3000, 'the waiting write answered');
    if (errors.length > 1) {
      // On a starved machine the probe may come after the wait time: then it must not be written either.
      assert.equal(sim.chip(1, 0x20).pinLevel(1), 1, 'given up: the initial value stays');
    } else {
      assert.equal(sim.chip(1, 0x20).pinLevel(1), 0, 'written: done() said so');
    }
    await sleep(50);
    const c = sim.chip(1, 0x20);
    assert.equal(lastStatus('in1').text, 'iopi-chip.status.simulated');
    assert.equal(c.register(BANK0.IODIRA) & 0b111, 0b100, 'pins 1, 2 outputs, pin 3 input');
    assert.equal(c.register(BANK0.GPPUB) & 0b11, 0b11, 'setup node: pull-ups on pins 9, 10');
    assert.equal(c.register(BANK0.GPINTENA) & 0b100, 0b100, 'in node: interrupt on pin 3');
    assert.equal(c.pinLevel(2), 0, 'the write that ended in done(err) was never applied');
    const back = logs('info').filter((l) => l.id === 'chip1' && /answers after/.test(l.msg));
    assert.equal(back.length, 1, 'one line when it answers');
    assert.match(back[0].msg, /^0x20 on \/dev\/i2c-1 answers after [\d.]+ (s|ms) \(\d+ probes? failed\); configured it$/);
    // and it works normally again
    assert.equal(await deliver('out1', { payload: true }, completes, errors), 'ok');
    assert.equal(c.pinLevel(1), 1);
  });

  for (const keepState of [true, false]) {
    it(`chip vanishing mid-run (${keepState ? 'data wire: state kept' : 'power wire: back at power-on'}): status within a service interval, writes meanwhile end in done(err) and are never written, the last written outputs come back`, async () => {
      const pollInterval = 100;
      await load(flow(pollInterval, 200), { completeScope: ['out1', 'out2'] });
      const chip = await online();
      const completes = collect('completes');
      const errors = collect('errors');
      const events = collect('events');
      assert.equal(await deliver('out2', { payload: true }, completes, errors), 'ok');
      const before = configRegisters();

      const services = () => chip.driver.transport.stats.transactions;
      sim.unplug(1, 0x20, { keepState });
      const at = services();
      await waitFor(() => lastStatus('out1')?.text === 'iopi-chip.status.nodevice', 5000, 'nodevice');
      assert.ok(services() - at <= 2 + 4, 'noticed by the first service read after the unplug (and its retries)');
      assert.equal(lastStatus('in1').text, 'iopi-chip.status.nodevice');
      assert.equal(chip.online, false);

      // Every write meanwhile is answered: done(err), not written within the wait time.
      const sent: [string, boolean][] = [['out1', false], ['out2', false], ['out1', true], ['out2', true], ['out2', false]];
      for (const [id, payload] of sent) assert.equal(await deliver(id, { payload }, completes, errors), 'error');
      assert.equal(completes.length + errors.length, 1 + sent.length, 'no message without done');
      for (const e of errors) {
        assert.match(e.error.message, /^NotWrittenError: not written within 200 ms: no device at 0x20 on \/dev\/i2c-1/);
        assert.ok(['out1', 'out2'].includes(e.error.source.id));
      }
      const lines = logs('warn').filter((l) => l.id === 'chip1');
      assert.deepEqual(lines.map((l) => l.msg), ['0x20 on /dev/i2c-1 stopped answering: no device at 0x20 on /dev/i2c-1 (Remote I/O error); trying again every 1 s']);
      // A press during the outage.
      sim.chip(1, 0x20).setInput(3, 0);

      sim.plugIn(1, 0x20);
      await waitFor(() => chip.online === true, 5000, 'back online');
      await waitFor(() => events.some((m) => m.pin === 3 && m.payload === true), 3000, 'the press during the outage is reported after recovery');
      const c = sim.chip(1, 0x20);
      assert.equal(c.pinLevel(1), 1, 'out1: its initial value, the last thing written');
      assert.equal(c.pinLevel(2), 1, 'out2: on, its last message that ended in done()');
      const after = configRegisters();
      assert.deepEqual(after.slice(0, 14), before.slice(0, 14), 'configuration as before the outage');
      assert.equal(lastStatus('out1').text, 'iopi-chip.status.simulated');
      const back = logs('info').filter((l) => l.id === 'chip1' && /answers again after/.test(l.msg));
      assert.equal(back.length, 1);
      assert.match(back[0].msg, /^0x20 on \/dev\/i2c-1 answers again after [\d.]+ (s|ms) \(\d+ probes? failed\); configuration and outputs restored$/);
    });
  }

  it('power glitch: noticed by the next verify (5 s), configuration and last outputs restored, a log line says so', async function () {
    this.timeout(15000);
    await load(flow(20), { completeScope: ['out1', 'out2'] });
    const chip = await online();
    const completes = collect('completes');
    const errors = collect('errors');
    assert.equal(await deliver('out2', { payload: true }, completes, errors), 'ok');
    assert.equal(await deliver('out1', { payload: false }, completes, errors), 'ok');
    const before = configRegisters();
    const c = sim.chip(1, 0x20);
    assert.equal(c.pinLevel(2), 1);

    const t0 = Date.now();
    c.powerCycle();
    assert.equal(c.register(BANK0.IODIRA), 0xff, 'back at power-on');
    await waitFor(() => logs('warn').some((l) => l.id === 'chip1' && /lost its configuration/.test(l.msg)), 6500, 'restore log line');
    const elapsed = Date.now() - t0;
    assert.ok(elapsed <= 5500, `noticed after ${elapsed} ms (verify interval 5000 ms)`);
    await sleep(20);
    assert.deepEqual(configRegisters(), before, 'configuration and outputs restored');
    assert.equal(c.pinLevel(1), 0);
    assert.equal(c.pinLevel(2), 1);
    const line = logs('warn').find((l) => /lost its configuration/.test(l.msg))!;
    assert.match(line.msg, /0x20 on \/dev\/i2c-1/);
    assert.match(line.msg, /restored/);
    assert.equal(chip.online, true, 'a glitch is not an outage');
    assert.ok(!statuses('out1').some((s) => s.fill === 'red'), 'no red status for a restored glitch');
  });
});
