/**
 * End to end through the code path of a Pi: our nodes in hardware mode (iopi-chip simulate: false,
 * IOPI_SIMULATE unset) in a Node-RED runtime in a child process, using the real i2c-bus addon, whose
 * /dev/i2c-1 is the virtual bus (LD_PRELOAD shim → simulator server process). A button press on chip
 * 0x20 (control socket) travels iopi-in → iopi-out and lights a pin of chip 0x21; a chip at an absent
 * address shows "no device" and comes online by itself once the chip is plugged in.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import { startVirtualI2c, type VirtualI2c } from '../lib/virtual';
import { chipNode, inNode, outNode, type FlowNode } from './helpers/nodes';
import { RedChild, waitFor } from './helpers/red-child';
import { i2cBusMissing, parseDump, requireOrSkip, shimMissing } from './virtual-support';

const OLATA = 0x14;
const IODIRA = 0x00;

describe('virtual IO Pi: the nodes in hardware mode through the real i2c-bus addon', function () {
  this.timeout(30000);
  requireOrSkip(shimMissing, i2cBusMissing);
  let v: VirtualI2c | undefined;
  let red: RedChild | undefined;

  before(async () => {
    v = await startVirtualI2c({ buses: { 1: [0x20, 0x21] } });
    red = await RedChild.start(v.env);
  });
  after(async () => {
    await red?.stop();
    await v?.stop();
  });

  it('iopi-in (0x20 pins 1-8) → iopi-out (0x21 pins 1-8): pressing pin 3 sets OLATA bit 2 of 0x21; an absent chip at 0x22 recovers when plugged in', async () => {
    const hw = { simulate: false, pollInterval: 10 };
    const flow: FlowNode[] = [
      chipNode({ id: 'chip1', address: 0x20, ...hw }),
      chipNode({ id: 'chip2', address: 0x21, ...hw }),
      chipNode({ id: 'chip3', address: 0x22, ...hw }),
      inNode({ id: 'in1', chip: 'chip1', pins: [1, 2, 3, 4, 5, 6, 7, 8], pullup: true, invert: true, wires: [['out1', 'out']] }),
      outNode({ id: 'out1', chip: 'chip2', target: 'pins', pins: [1, 2, 3, 4, 5, 6, 7, 8], mode: 'set', msgTarget: true, wires: [[]] }),
      inNode({ id: 'in3', chip: 'chip3', pins: [1], wires: [['out']] }),
    ];
    await red!.call('load', { flow });
    const context = async () => `logs: ${JSON.stringify(await red!.call('logs'))}`;

    // both chips come online through i2c-bus and get configured
    await waitFor('chip1 and chip2 online', 5000, async () => (await red!.call('online', { node: 'chip1' })) && red!.call('online', { node: 'chip2' }))
      .catch(async (err) => assert.fail(`${err.message}; ${await context()}`));
    await waitFor('0x21 pins 1-8 outputs', 5000, async () => parseDump(await v!.control('dump 1 0x21'))[IODIRA] === 0x00);
    const d20 = parseDump(await v!.control('dump 1 0x20'));
    assert.equal(d20[IODIRA], 0xff, '0x20 port A inputs');
    assert.equal(d20[0x0c], 0xff, '0x20 port A pull-ups');
    assert.equal(d20[0x02], 0xff, '0x20 port A inverted (pressed = 1)');
    assert.equal(parseDump(await v!.control('dump 1 0x21'))[OLATA] & 0x04, 0, 'pin 3 of 0x21 off');

    // press the button on pin 3 of 0x20
    assert.equal(await v!.control('set 1 0x20 3 0'), 'ok');
    await waitFor('OLATA bit 2 of 0x21 set', 5000, async () => (parseDump(await v!.control('dump 1 0x21'))[OLATA] & 0x04) !== 0);
    const messages = await red!.call('messages', { node: 'out' });
    assert.deepEqual(messages.filter((m: any) => m.pin === 3), [{ payload: true, pin: 3, topic: messages.find((m: any) => m.pin === 3).topic }]);
    assert.equal(parseDump(await v!.control('dump 1 0x21'))[OLATA], 0x04, 'only pin 3 lit');

    // release it: the output follows
    assert.equal(await v!.control('set 1 0x20 3 float'), 'ok');
    await waitFor('OLATA bit 2 of 0x21 cleared', 5000, async () => (parseDump(await v!.control('dump 1 0x21'))[OLATA] & 0x04) === 0);

    // 0x22: nothing answers (NACK, errno 121 through i2c-bus) → "no device"
    await waitFor('in3 shows no device', 5000, async () => (await red!.call('statuses', { node: 'in3' })).includes('iopi-chip.status.nodevice'));
    assert.equal(await red!.call('online', { node: 'chip3' }), false);

    // plug the chip in: the retry (backoff from 500 ms) finds it and configures pin 1
    assert.equal(await v!.control('add 1 0x22'), 'ok');
    await waitFor('chip3 online', 10000, async () => red!.call('online', { node: 'chip3' }));
    await waitFor('0x22 pin 1 pull-up set', 5000, async () => (parseDump(await v!.control('dump 1 0x22'))[0x0c] & 0x01) === 1);
    const after = await red!.call('statuses', { node: 'in3' });
    assert.notEqual(after[after.length - 1], 'iopi-chip.status.nodevice', `in3 statuses: ${after.join(', ')}`);
    const errors = await red!.call('messages', { node: 'errors' });
    assert.deepEqual(errors.filter((e: any) => !/0x22|i2c-1/.test(JSON.stringify(e))), [], 'no errors except about the absent chip');
  });
});
