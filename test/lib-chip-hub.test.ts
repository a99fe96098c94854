/**
 * ChipHub on its own: one session per backend + bus + address, shared and reference-counted by its
 * owners; the first owner's chip-wide settings apply and the others learn what differs; the last
 * owner's release stops the session and the inputs known then seed the next session of that chip.
 */
import assert from 'node:assert/strict';
import { ChipHub, Transport, settingDifferences, type ChipSettings } from '../lib';
import * as sim from '../lib/simulator';

const SETTINGS: ChipSettings = {
  mode: 'poll', pollInterval: 5, interruptOutput: { mirror: true, openDrain: true, activeHigh: false }, writeWaitMs: 2000,
};
const place = (address = 0x20) => ({ backend: sim.simulatorBackend, busNumber: 1, address });
const waitFor = async (test: () => boolean, what: string) => {
  for (let i = 0; i < 500 && !test(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(test(), what);
};

describe('lib: ChipHub', () => {
  beforeEach(() => sim.reset());
  afterEach(() => assert.equal(Transport.openCount(), 0));

  it('one session per chip, whoever asks; the last release stops it and closes the bus', async () => {
    const hub = new ChipHub();
    const a = hub.acquire(place(), SETTINGS, 'A');
    const b = hub.acquire(place(), SETTINGS, 'B');
    const other = hub.acquire(place(0x21), SETTINGS, 'C');
    assert.equal(a.session, b.session);
    assert.notEqual(a.session, other.session);
    assert.deepEqual(a.session.ownerIds, ['A', 'B']);
    assert.equal(hub.size, 2);
    await hub.release(a.session, 'A');
    assert.equal(a.session.supervisor.status.state, 'starting', 'still owned by B: not stopped');
    await hub.release(b.session, 'B');
    await hub.release(other.session, 'C');
    assert.equal(a.session.supervisor.status.state, 'stopped');
    assert.equal(hub.size, 0);
    assert.notEqual(hub.acquire(place(), SETTINGS, 'A').session, a.session, 'a new session after the last release');
    await hub.release(hub.acquire(place(), SETTINGS, 'A').session, 'A');
  });

  it('the first owner\'s settings apply; a later owner learns what differs, in words', async () => {
    const hub = new ChipHub();
    const first = hub.acquire(place(), SETTINGS, 'A');
    const second = hub.acquire(place(), { ...SETTINGS, pollInterval: 100, writeWaitMs: 0 }, 'B');
    assert.deepEqual(first.differences, []);
    assert.deepEqual(second.differences, ['poll interval 100 (in effect: 5)', 'write wait time 0 (in effect: 2000)']);
    assert.deepEqual([...first.session.settingsConflicts()], [['B', second.differences]]);
    assert.equal(first.session.settings.pollInterval, 5);
    await hub.release(first.session, 'A');
    await hub.release(second.session, 'B');
  });

  it('settingDifferences ignores what does not apply (the poll interval in INT-line mode, INTPOL when open-drain)', () => {
    const intline: ChipSettings = { ...SETTINGS, mode: 'intline', intLine: 'GPIO23' };
    assert.deepEqual(settingDifferences(intline, { ...intline, pollInterval: 999, interruptOutput: { ...intline.interruptOutput, activeHigh: true } }), []);
    assert.deepEqual(settingDifferences(intline, { ...intline, intLine: 'GPIO24' }), ['INT line GPIO24 (in effect: GPIO23)']);
  });

  it('claims across owners: a pin in both directions is a conflict, seen from both sides; leaving drops the owner\'s claims', async () => {
    const hub = new ChipHub();
    const { session } = hub.acquire(place(), SETTINGS, 'A');
    hub.acquire(place(), SETTINGS, 'B');
    session.claim({ id: 'in1/in', user: 'in1', label: 'door', owner: 'A', direction: 'in', mask: 0x0006 });
    session.claim({ id: 'out1/out', user: 'out1', label: 'relay', owner: 'B', direction: 'out', mask: 0x0004 });
    assert.deepEqual(session.conflicts().map((c) => [c.claim.user, c.other.user, c.pins]), [['in1', 'out1', [3]], ['out1', 'in1', [3]]]);
    await hub.release(session, 'B');
    assert.deepEqual(session.conflicts(), []);
    await hub.release(session, 'A');
  });

  it('what was known of the inputs survives the session: the next one reports the change made in between', async () => {
    const hub = new ChipHub();
    const chip = sim.chip(1, 0x20);
    const first = hub.acquire(place(), SETTINGS, 'A').session;
    void first.driver.configurePins({ mask: 0x0001, pullup: 1, invert: 1, interruptEnable: 1 }, { waitMs: Infinity });
    let baseline: number | undefined;
    first.supervisor.subscribeInputs(0x0001, { baseline: (v) => { baseline = v; }, changes: () => undefined });
    first.start();
    await waitFor(() => baseline !== undefined, 'first baseline');
    assert.equal(baseline, 0, 'released');
    await hub.release(first, 'A');
    chip.setInput(1, 0); // pressed while no session runs (a redeploy)
    const second = hub.acquire(place(), SETTINGS, 'A').session;
    void second.driver.configurePins({ mask: 0x0001, pullup: 1, invert: 1, interruptEnable: 1 }, { waitMs: Infinity });
    const seen: [string, number][] = [];
    second.supervisor.subscribeInputs(0x0001, {
      baseline: (v) => seen.push(['baseline', v & 1]),
      changes: (steps) => { for (const s of steps) seen.push(['change', s.value & 1]); },
    });
    second.start();
    await waitFor(() => seen.length >= 2, 'baseline and change');
    assert.deepEqual(seen, [['baseline', 0], ['change', 1]], 'the press made between the sessions is a change');
    await hub.release(second, 'A');
  });
});
