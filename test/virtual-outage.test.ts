/**
 * A bus that hangs, through the code path of a Pi: our nodes in hardware mode (the real i2c-bus
 * addon) on the virtual /dev/i2c-1, whose server process is stopped with SIGSTOP for a while and then
 * continued. Calls then time out in the shim (ETIMEDOUT) and its connection is out of step; the
 * transport must close and reopen the bus, the chip must come back by itself as soon as the bus
 * answers again (by the first probe after SIGCONT), writes meanwhile must end in done(err) and never
 * be written, and the chip must end with the outputs of the last write that ended in done().
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import { startVirtualI2c, type VirtualI2c } from '../lib/virtual';
import { chipNode, outNode, type FlowNode } from './helpers/nodes';
import { RedChild, sleep, waitFor } from './helpers/red-child';
import { i2cBusMissing, parseDump, requireOrSkip, shimMissing } from './virtual-support';

const OLATA = 0x14;

describe('virtual IO Pi: a bus that hangs (SIGSTOP) and comes back', function () {
  this.timeout(60000);
  requireOrSkip(shimMissing, i2cBusMissing);
  let v: VirtualI2c | undefined;
  let red: RedChild | undefined;
  let stopped = false;

  before(async () => {
    v = await startVirtualI2c({ buses: { 1: [0x20, 0x21] } });
    // A call the simulator does not answer fails after 1 s (ETIMEDOUT), as a stuck adapter would.
    red = await RedChild.start({ ...v.env, IOPI_SIM_TIMEOUT_MS: '1000' });
  });
  after(async () => {
    if (stopped && v?.pid) process.kill(v.pid, 'SIGCONT');
    await red?.stop();
    await v?.stop();
  });

  it('writes to 0x21 while the bus hangs end in done(err); the bus is reopened; the chip is back at the first probe after SIGCONT', async () => {
    const flow: FlowNode[] = [
      chipNode({ id: 'chip2', address: 0x21, simulate: false, pollInterval: 20, writeWait: 500 }),
      outNode({ id: 'out1', chip: 'chip2', target: 'port', port: 0, mode: 'set', wires: [[]] }),
    ];
    await red!.call('load', { flow, completeScope: ['out1'] });
    await waitFor('chip2 online', 10000, () => red!.call('online', { node: 'chip2' }));
    assert.equal(await red!.call('deliver', { node: 'out1', msg: { payload: 0x11 } }), 'ok');
    assert.equal(parseDump(await v!.control('dump 1 0x21'))[OLATA], 0x11);

    // The bus hangs: the server process stops answering.
    process.kill(v!.pid!, 'SIGSTOP');
    stopped = true;
    const during: string[] = [];
    for (const payload of [0x22, 0x33, 0x44]) during.push(await red!.call('deliver', { node: 'out1', msg: { payload } }));
    for (const answer of during) assert.match(answer, /^NotWrittenError: not written within 500 ms/, `while hanging: ${during.join(' | ')}`);
    await waitFor('chip2 offline', 10000, async () => !(await red!.call('online', { node: 'chip2' })));
    await sleep(3000); // several probes fail while it hangs

    const continuedAt = Date.now();
    process.kill(v!.pid!, 'SIGCONT');
    stopped = false;
    await waitFor('chip2 online again', 10000, () => red!.call('online', { node: 'chip2' }));
    const recoveredIn = Date.now() - continuedAt;
    const states: { at: number; state: string; failedProbes?: number }[] = await red!.call('chipStates', { node: 'chip2' });
    const failedAfter = states.filter((s) => s.state === 'offline' && s.at > continuedAt + 50).length;
    console.log(`      (back ${recoveredIn} ms after SIGCONT; ${failedAfter} probe(s) failed after it)`);
    assert.ok(failedAfter <= 1, `the first probe after SIGCONT (or the one in flight) brings it back: ${JSON.stringify(states)}`);

    const stats = await red!.call('transportStats', { node: 'chip2' });
    assert.ok(stats.reopens >= 1, `the bus handle was reopened (${JSON.stringify(stats)})`);
    // Never written: the chip holds the last write that ended in done().
    assert.equal(parseDump(await v!.control('dump 1 0x21'))[OLATA], 0x11, 'writes that ended in done(err) were never written');
    assert.equal(await red!.call('deliver', { node: 'out1', msg: { payload: 0x55 } }), 'ok');
    assert.equal(parseDump(await v!.control('dump 1 0x21'))[OLATA], 0x55, 'and it works again');
    const logs: any[] = await red!.call('logs');
    const chipLines = logs.filter((l) => l.id === 'chip2').map((l) => l.msg);
    assert.equal(chipLines.filter((m) => /stopped answering/.test(m)).length, 1, `one line when it went: ${chipLines.join(' | ')}`);
    assert.equal(chipLines.filter((m) => /answers again after/.test(m)).length, 1, `one line when it came back: ${chipLines.join(' | ')}`);
  });
});
