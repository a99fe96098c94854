/**
 * The editor's admin endpoints and live pushes (nodes/iopi-admin.ts), without a browser:
 * - trackChip in-process: pushes within 100 ms, at most 20 a second, always ending with the last
 *   state; every listener removed on stop; the chip node untracks on close;
 * - a real Node-RED process (red.js): validation of every input (400/404/409 with a JSON error), pin
 *   actions, the bus scan (simulated and real), pushes on the comms websocket;
 * - adminAuth: anonymous requests refused, a read-only user can look but not change, an admin can.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { EventEmitter } from 'node:events';
import { trackChip, trackedCount, MIN_PUBLISH_INTERVAL_MS } from '../nodes/iopi-admin';
import { Mcp23017 } from '../lib';
import * as simulator from '../lib/simulator';
import { scanBus } from '../lib/scan';
import { chipNode, helper, inNode, load, online, outNode, useNodeHelper } from './helpers/nodes';
import { requireFromProject } from './helpers/red';
import { deployFlows, login, startRed, type RedServer } from './helpers/red-server';

/* eslint-disable @typescript-eslint/no-explicit-any */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CHIP = { interruptMode: 'poll', pollInterval: 20, intLine: 'GPIO23', mirror: true, openDrain: true, activeHigh: false, simulate: true };
const FLOW = [
  { id: 'tab1', type: 'tab', label: 'T' },
  { id: 'c1', type: 'iopi-chip', name: 'board', bus: 1, address: 32, ...CHIP },
  { id: 'c2', type: 'iopi-chip', name: '', bus: 1, address: 33, ...CHIP },
  {
    id: 'in1', type: 'iopi-in', z: 'tab1', chip: 'c1', target: 'pins', pins: [1, 2], output: 'pin', edge: 'both', debounce: 0,
    initial: false, pullup: true, invert: true, topic: '', wires: [[]],
  },
  {
    id: 'out1', type: 'iopi-out', z: 'tab1', chip: 'c1', target: 'pin', pins: [9], port: 0, mode: 'set', pulse: 1000, initial: '',
    passthrough: false, msgTarget: true, wires: [[]],
  },
];

async function api(server: RedServer, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

describe('editor API: trackChip (in-process)', function () {
  this.timeout(10000);
  afterEach(() => simulator.reset());

  async function tracked() {
    const published: { topic: string; data: any; retain: boolean; at: number }[] = [];
    const RED = { comms: { publish: (topic: string, data: any, retain: boolean) => published.push({ topic, data, retain, at: Date.now() }) } } as any;
    const sim = simulator.chip(7, 0x20);
    const driver = new Mcp23017({ busNumber: 7, address: 0x20, backend: simulator.simulatorBackend });
    await driver.open();
    await driver.configurePins({ mask: 0xff00, direction: 0 }); // port B outputs
    await driver.configurePins({ mask: 0x00ff, pullup: 0x00ff, interruptEnable: 0x0001 });
    const node = Object.assign(new EventEmitter(), { id: 'chipA', name: 'A', warn: () => undefined }) as any;
    const view = trackChip(RED, {
      node, busNumber: 7, address: 0x20, simulated: true, driver, supervisor: undefined,
      status: () => ({ fill: 'blue', shape: 'dot', text: 'iopi-chip.status.simulated' }), online: () => true,
    });
    await sleep(MIN_PUBLISH_INTERVAL_MS + 20);
    return { published, sim, driver, view };
  }

  // How fast a push follows a change is measured by `npm run bench` (editor_push_ms), not asserted here.
  it('publishes the state (retained) after a simulated pin change', async () => {
    const { published, sim, driver, view } = await tracked();
    const before = published.length;
    assert.ok(before >= 1, 'initial state published');
    assert.equal(published[0].topic, 'iopi/chip/chipA');
    assert.equal(published[0].retain, true);
    const t0 = Date.now();
    sim.setInput(1, 0);
    while (published.length === before && Date.now() - t0 < 500) await sleep(2);
    assert.ok(published.length > before, 'the change was pushed');
    const last = published[published.length - 1];
    const pin1 = last.data.pins[0];
    assert.deepEqual(pin1, { pin: 1, name: 'GPA0', direction: 'in', level: 0, pullup: true, invert: false, interrupt: true, pending: true, pressed: false });
    assert.equal(last.data.pins[8].direction, 'out');
    view.stop();
    await driver.close();
  });

  it('sends nothing while nothing shown changes; every state is newer (seq) than the one before', async () => {
    const { published, sim, driver, view } = await tracked();
    const n = published.length;
    // Service reads that find nothing new (what polling does all day) and a write of the same value.
    for (let i = 0; i < 5; i++) {
      await driver.service();
      await sleep(MIN_PUBLISH_INTERVAL_MS + 10);
    }
    await driver.writeMasked(0x0100, 0);
    await sleep(MIN_PUBLISH_INTERVAL_MS + 30);
    assert.equal(published.length, n, 'no push for an unchanged state');
    sim.setInput(4, 0);
    await sleep(MIN_PUBLISH_INTERVAL_MS + 30);
    sim.setInput(4, null);
    await sleep(MIN_PUBLISH_INTERVAL_MS + 30);
    assert.ok(published.length >= n + 2, 'changes are pushed');
    const states = published.filter((p) => p.data.pins);
    for (let i = 1; i < states.length; i++) {
      assert.equal(states[i].data.epoch, states[0].data.epoch);
      assert.ok(states[i].data.seq > states[i - 1].data.seq, 'seq grows');
    }
    view.stop();
    await driver.close();
  });

  it('throttles to at most 20 updates a second and always sends the last state', async () => {
    const { published, sim, driver, view } = await tracked();
    const start = published.length;
    const t0 = Date.now();
    let level: 0 | 1 = 0;
    while (Date.now() - t0 < 1000) {
      level = level ? 0 : 1;
      sim.setInput(2, level);
      await sleep(1);
    }
    sim.setInput(2, 1);
    await sleep(MIN_PUBLISH_INTERVAL_MS * 2);
    const sent = published.length - start;
    assert.ok(sent <= 23, `${sent} updates in about a second`);
    assert.ok(sent >= 10, `${sent} updates in about a second`);
    for (let i = start + 1; i < published.length; i++) {
      assert.ok(published[i].at - published[i - 1].at >= MIN_PUBLISH_INTERVAL_MS - 5, 'spaced by 50 ms');
    }
    assert.equal(published[published.length - 1].data.pins[1].level, 1, 'the final state is the last one sent');
    view.stop();
    await driver.close();
  });

  it('output writes are pushed; stop() removes every listener and publishes the removal', async () => {
    const { published, sim, driver, view } = await tracked();
    const count = () => sim.listenerCount('change') + driver.listenerCount('outputs') + driver.listenerCount('service') + driver.listenerCount('online') + driver.listenerCount('offline');
    assert.ok(count() >= 5);
    const n = published.length;
    await driver.writeMasked(0x0100, 0x0100);
    await sleep(MIN_PUBLISH_INTERVAL_MS + 30);
    assert.ok(published.length > n);
    assert.equal(published[published.length - 1].data.pins[8].level, 1);
    assert.equal(trackedCount(), 1);
    view.stop();
    assert.equal(count(), 0, 'no listener left');
    assert.equal(trackedCount(), 0);
    const removal = published[published.length - 1];
    assert.deepEqual(removal, {
      topic: 'iopi/chip/chipA', data: { id: 'chipA', removed: true, epoch: removal.data.epoch, seq: removal.data.seq }, retain: false, at: removal.at,
    });
    assert.ok(removal.data.seq > published[published.length - 2].data.seq, 'the removal is newer than the last state');
    const after = published.length;
    sim.setInput(3, 0);
    await sleep(MIN_PUBLISH_INTERVAL_MS + 30);
    assert.equal(published.length, after, 'nothing published after stop');
    await driver.close();
  });

  it('a real (not simulated) chip shows its shadow registers, inputs unknown until read', async () => {
    const driver = new Mcp23017({ busNumber: 8, address: 0x20, backend: simulator.simulatorBackend });
    const published: any[] = [];
    const RED = { comms: { publish: (_topic: string, data: any) => published.push(data) } } as any;
    const node = Object.assign(new EventEmitter(), { id: 'real', warn: () => undefined }) as any;
    const view = trackChip(RED, {
      node, busNumber: 8, address: 0x20, simulated: false, driver, supervisor: undefined, status: () => ({}), online: () => false,
    });
    driver.configurePins({ mask: 0x0001, direction: 0, output: 1 }).catch(() => undefined); // never opened: only the shadow
    await sleep(MIN_PUBLISH_INTERVAL_MS + 30);
    const state = published[published.length - 1];
    assert.equal(state.pins[0].direction, 'out');
    assert.equal(state.pins[0].level, 1);
    assert.equal(state.pins[1].direction, 'in');
    assert.equal(state.pins[1].level, null);
    assert.equal(state.simulated, false);
    view.stop();
    await driver.close().catch(() => undefined);
  });
});

describe('editor API: the iopi-chip node tracks itself', function () {
  this.timeout(20000);
  useNodeHelper();

  it('tracked while deployed, untracked with no listener left on close', async () => {
    await load([chipNode({ id: 'chip1' }), inNode({ pins: [3] }), outNode({ pins: [1] })]);
    await online();
    assert.equal(trackedCount(), 1);
    const sim = simulator.chip(1, 0x20);
    const chip = helper.getNode('chip1');
    assert.ok(sim.listenerCount('change') >= 1);
    const driver = chip.driver;
    await helper.unload();
    assert.equal(trackedCount(), 0);
    assert.equal(sim.listenerCount('change'), 0, 'simulated chip listener removed');
    assert.equal(driver.listenerCount('outputs'), 0, 'driver listeners removed');
  });
});

describe('lib/scan', () => {
  afterEach(() => simulator.reset());
  it('finds the simulated chips at 0x20-0x27 only, without touching their interrupts', async () => {
    const a = simulator.chip(3, 0x20);
    simulator.chip(3, 0x27);
    simulator.chip(3, 0x40); // not an MCP23017 address
    a.writeMessage([0x04, 0x01]); // GPINTENA pin 1
    a.setInput(1, 1);
    const intf = a.register(0x0e);
    assert.deepEqual(await scanBus(simulator.simulatorBackend, 3), { busNumber: 3, addresses: [0x20, 0x27] });
    assert.equal(a.register(0x0e), intf, 'INTF untouched');
    assert.deepEqual((await scanBus(simulator.simulatorBackend, 4)).addresses, []);
  });
  it('an unplugged chip does not answer; a bus that cannot open rejects', async () => {
    simulator.chip(3, 0x21);
    simulator.unplug(3, 0x21);
    assert.deepEqual((await scanBus(simulator.simulatorBackend, 3)).addresses, []);
    const broken = { name: 'broken', open: () => Promise.reject(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' })) };
    await assert.rejects(scanBus(broken as any, 9), /no I2C bus \/dev\/i2c-9/);
    await assert.rejects(scanBus(simulator.simulatorBackend, 256), RangeError);
  });
  it('reports what stops every probe (the i2c-bus addon not loadable) instead of an empty bus; I/O errors and timeouts are just "nothing there"', async () => {
    const noAddon = { name: 'no-addon', open: () => Promise.reject(new Error('the i2c-bus native module could not be loaded (NODE_MODULE_VERSION 115)')) };
    await assert.rejects(scanBus(noAddon as any, 1), (err: any) => err.name === 'ScanError' && /cannot open \/dev\/i2c-1 \(the i2c-bus native module could not be loaded/.test(err.message));
    simulator.chip(5, 0x20);
    simulator.chip(5, 0x22);
    simulator.injectFault({ busNumber: 5, address: 0x22, error: 'eio', times: Infinity });
    simulator.injectFault({ busNumber: 5, address: 0x23, error: 'timeout', times: Infinity });
    simulator.chip(5, 0x23);
    assert.deepEqual((await scanBus(simulator.simulatorBackend, 5)).addresses, [0x20]);
  });
});

describe('editor API over HTTP (a real Node-RED)', function () {
  this.timeout(30000);
  let server: RedServer;

  before(async () => {
    server = await startRed();
    await deployFlows(server, FLOW);
    await sleep(300);
  });
  after(async () => { await server?.stop(); });

  it('GET iopi/chips lists every deployed chip with its 16 pins', async () => {
    const { status, json } = await api(server, 'GET', 'iopi/chips');
    assert.equal(status, 200);
    assert.deepEqual(json.map((c: any) => [c.id, c.addressHex, c.bus, c.simulated, c.name]), [['c1', '0x20', 1, true, 'board'], ['c2', '0x21', 1, true, '']]);
    const c1 = json[0];
    assert.equal(c1.pins.length, 16);
    assert.deepEqual(c1.pins[0], { pin: 1, name: 'GPA0', direction: 'in', level: 0, pullup: true, invert: true, interrupt: true, pending: false, pressed: false });
    assert.deepEqual(c1.pins[8], { pin: 9, name: 'GPB0', direction: 'out', level: 0, pullup: false, invert: false, interrupt: false, pending: false });
    assert.equal(c1.pins[15].name, 'GPB7');
    assert.equal(c1.status.text, 'iopi-chip.status.simulated');
    assert.equal((await api(server, 'GET', 'iopi/chips/c2')).json.id, 'c2');
  });

  it('validates ids, pins, actions and values (400/404/409 with a JSON error)', async () => {
    const bad: [string, string, unknown, number][] = [
      ['GET', 'iopi/chips/nope', undefined, 404],
      ['GET', 'iopi/chips/in1', undefined, 404], // a node, but not an iopi-chip
      ['GET', 'iopi/chips/a%20b', undefined, 400],
      ['GET', 'iopi/chips/..%2F..%2Fetc%2Fpasswd', undefined, 400],
      ['POST', 'iopi/chips/nope/pins/1', { action: 'toggle' }, 404],
      ['POST', 'iopi/chips/c1/pins/0', { action: 'toggle' }, 400],
      ['POST', 'iopi/chips/c1/pins/17', { action: 'toggle' }, 400],
      ['POST', 'iopi/chips/c1/pins/1.5', { action: 'toggle' }, 400],
      ['POST', 'iopi/chips/c1/pins/x', { action: 'toggle' }, 400],
      ['POST', 'iopi/chips/c1/pins/-1', { action: 'toggle' }, 400],
      ['POST', 'iopi/chips/c1/pins/9', { action: 'explode' }, 400],
      ['POST', 'iopi/chips/c1/pins/9', { action: 'TOGGLE' }, 400],
      ['POST', 'iopi/chips/c1/pins/9', {}, 400],
      ['POST', 'iopi/chips/c1/pins/9', [{ action: 'toggle' }], 400],
      ['POST', 'iopi/chips/c1/pins/9', { action: 'set' }, 400],
      ['POST', 'iopi/chips/c1/pins/9', { action: 'set', value: 2 }, 400],
      ['POST', 'iopi/chips/c1/pins/9', { action: 'set', value: '1' }, 400],
      ['POST', 'iopi/chips/c1/pins/9', { action: 'set', value: null }, 400],
      ['POST', 'iopi/chips/c1/pins/9', { action: 'toggle', value: 1 }, 400],
      ['POST', 'iopi/chips/c1/pins/9', { action: 'toggle', extra: 1 }, 400],
      ['POST', 'iopi/chips/c1/pins/9', '{"action":"toggle","__proto__":{"polluted":1}}', 400],
      ['POST', 'iopi/chips/c1/pins/9', { action: 'press' }, 409], // an output cannot be pressed
      ['POST', 'iopi/chips/c1/pins/9', 'not json', 400], // refused by the admin app's body parser (its own error body)
      ['GET', 'iopi/scan', undefined, 400],
      ['GET', 'iopi/scan?bus=', undefined, 400],
      ['GET', 'iopi/scan?bus=256', undefined, 400],
      ['GET', 'iopi/scan?bus=-1', undefined, 400],
      ['GET', 'iopi/scan?bus=1e1', undefined, 400],
      ['GET', 'iopi/scan?bus=0x1', undefined, 400],
      ['GET', 'iopi/scan?bus=..%2F1', undefined, 400],
      ['GET', 'iopi/scan?bus=1;ls', undefined, 400],
      ['GET', 'iopi/scan?bus=1&bus=2', undefined, 400],
      ['GET', 'iopi/scan?bus=1&simulate=yes', undefined, 400],
    ];
    for (const [method, path, body, expected] of bad) {
      const { status, json } = await api(server, method, path, body);
      assert.equal(status, expected, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(json)}`);
      if (expected >= 400 && body !== 'not json') assert.equal(typeof json?.error, 'string', `${method} ${path}: JSON error`);
    }
    assert.equal(({} as any).polluted, undefined);
  });

  it('toggles and sets outputs; presses and releases simulated inputs', async () => {
    const level = async (id: string, pin: number) => (await api(server, 'GET', `iopi/chips/${id}`)).json.pins[pin - 1];
    const start = (await level('c1', 9)).level;
    let r = await api(server, 'POST', 'iopi/chips/c1/pins/9', { action: 'toggle' });
    assert.equal(r.status, 200);
    assert.equal(r.json.pins[8].level, start ? 0 : 1);
    r = await api(server, 'POST', 'iopi/chips/c1/pins/9', { action: 'set', value: 0 });
    assert.equal(r.json.pins[8].level, 0);
    r = await api(server, 'POST', 'iopi/chips/c1/pins/9', { action: 'set', value: 1 });
    assert.equal(r.json.pins[8].level, 1);

    r = await api(server, 'POST', 'iopi/chips/c1/pins/1', { action: 'press' });
    assert.equal(r.status, 200);
    assert.deepEqual([r.json.pins[0].pressed, r.json.pins[0].level], [true, 1], 'pulled low, read inverted');
    r = await api(server, 'POST', 'iopi/chips/c1/pins/1', { action: 'release' });
    assert.deepEqual([r.json.pins[0].pressed, r.json.pins[0].level], [false, 0]);
    r = await api(server, 'POST', 'iopi/chips/c1/pins/1', { action: 'toggle' });
    assert.equal(r.json.pins[0].pressed, true);
    r = await api(server, 'POST', 'iopi/chips/c1/pins/1', { action: 'toggle' });
    assert.equal(r.json.pins[0].pressed, false);
    r = await api(server, 'POST', 'iopi/chips/c1/pins/2', { action: 'set', value: 0 });
    assert.equal(r.json.pins[1].level, 1);
    r = await api(server, 'POST', 'iopi/chips/c1/pins/2', { action: 'set', value: null });
    assert.equal(r.json.pins[1].level, 0);
  });

  it('GET iopi/scan lists the simulated chips on a bus', async () => {
    let r = await api(server, 'GET', 'iopi/scan?bus=1&simulate=true');
    assert.deepEqual(r, { status: 200, json: { bus: 1, simulated: true, addresses: [32, 33], hex: ['0x20', '0x21'] } });
    r = await api(server, 'GET', 'iopi/scan?bus=2&simulate=true');
    assert.deepEqual(r.json.addresses, []);
  });

  it('pushes a change to comms subscribers (iopi/chip/<id>) quickly, and the removal on redeploy', async () => {
    const WebSocket = requireFromProject('ws');
    const ws = new WebSocket(server.url.replace('http', 'ws') + 'comms');
    const messages: { topic: string; data: any; at: number }[] = [];
    ws.on('message', (raw: Buffer) => {
      const list = JSON.parse(String(raw));
      for (const m of Array.isArray(list) ? list : [list]) messages.push({ ...m, at: Date.now() });
    });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(JSON.stringify({ subscribe: 'iopi/chip/+' }));
    const deadline = Date.now() + 3000;
    while (!messages.some((m) => m.topic === 'iopi/chip/c2') && Date.now() < deadline) await sleep(10);
    assert.ok(messages.some((m) => m.topic === 'iopi/chip/c2'), 'retained state on subscribe');
    const n = messages.length;
    const t0 = Date.now();
    const r = await api(server, 'POST', 'iopi/chips/c2/pins/4', { action: 'set', value: 1 });
    assert.equal(r.status, 200);
    while (!messages.slice(n).some((m) => m.topic === 'iopi/chip/c2' && m.data.pins?.[3].level === 1) && Date.now() - t0 < 1000) await sleep(2);
    const pushed = messages.slice(n).find((m) => m.topic === 'iopi/chip/c2' && m.data.pins?.[3].level === 1);
    assert.ok(pushed, 'pushed');
    assert.ok(pushed!.at - t0 < 250, `pushed after ${pushed!.at - t0} ms (the request's round trip included)`);

    await deployFlows(server, FLOW.filter((n) => n.id !== 'c2'));
    const t1 = Date.now();
    while (!messages.some((m) => m.topic === 'iopi/chip/c2' && m.data.removed) && Date.now() - t1 < 3000) await sleep(10);
    assert.ok(messages.some((m) => m.topic === 'iopi/chip/c2' && m.data.removed === true), 'removal pushed');
    // The removal of c2 is pushed as c2 closes; the redeployed c1 may start a moment later.
    let ids: string[] = [];
    for (let i = 0; i < 300 && ids.join() !== 'c1'; i++) {
      ids = (await api(server, 'GET', 'iopi/chips')).json.map((c: any) => c.id);
      if (ids.join() !== 'c1') await sleep(10);
    }
    assert.deepEqual(ids, ['c1']);
    ws.close();
  });
});

describe('editor API: a real chip (IOPI_SIMULATE off) on a machine without that bus', function () {
  this.timeout(30000);
  let server: RedServer;
  // A bus number this machine does not have.
  const bus = [1, 11, 201, 250].find((b) => !fs.existsSync(`/dev/i2c-${b}`))!;

  before(async () => {
    server = await startRed({ env: { IOPI_SIMULATE: '0' } });
    await deployFlows(server, [
      { id: 'tab1', type: 'tab', label: 'T' },
      { id: 'r1', type: 'iopi-chip', name: 'real', bus, address: 32, ...CHIP, simulate: false },
      {
        id: 'out1', type: 'iopi-out', z: 'tab1', chip: 'r1', target: 'pin', pins: [9], port: 0, mode: 'set', pulse: 1000, initial: '',
        passthrough: false, msgTarget: true, wires: [[]],
      },
    ]);
    await sleep(500);
  });
  after(async () => { await server?.stop(); });

  it('is listed offline with unknown input levels; its inputs cannot be pressed; the real scan reports the missing bus', async () => {
    const { json } = await api(server, 'GET', 'iopi/chips');
    assert.equal(json.length, 1);
    assert.equal(json[0].simulated, false);
    assert.equal(json[0].online, false);
    assert.equal(json[0].pins[0].level, null);
    assert.equal(json[0].pins[8].direction, 'out');
    let r = await api(server, 'POST', 'iopi/chips/r1/pins/1', { action: 'press' });
    assert.equal(r.status, 409);
    assert.match(r.json.error, /real chip/);
    r = await api(server, 'GET', `iopi/scan?bus=${bus}&simulate=false`);
    assert.equal(r.status, 503);
    assert.match(r.json.error, new RegExp(`/dev/i2c-${bus}`));
    r = await api(server, 'GET', `iopi/scan?bus=${bus}`);
    assert.equal(r.status, 503, 'simulate defaults to false');
  });
});

describe('editor API with adminAuth', function () {
  this.timeout(30000);
  let server: RedServer;
  let admin: string;
  let viewer: string;

  before(async () => {
    server = await startRed({ adminAuth: true });
    admin = await login(server, 'admin');
    viewer = await login(server, 'viewer');
    await deployFlows(server, FLOW, admin);
    await sleep(300);
  });
  after(async () => { await server?.stop(); });

  it('refuses anonymous requests (401) on every endpoint', async () => {
    for (const [method, path, body] of [
      ['GET', 'iopi/chips'], ['GET', 'iopi/chips/c1'], ['GET', 'iopi/scan?bus=1&simulate=true'],
      ['POST', 'iopi/chips/c1/pins/9', { action: 'toggle' }],
    ] as [string, string, unknown][]) {
      assert.equal((await api(server, method, path, body)).status, 401, `${method} ${path}`);
    }
    assert.equal((await api(server, 'GET', 'iopi/chips', undefined, 'not-a-token')).status, 401);
  });

  it('lets a read-only user look (iopi.read) but not change pins (iopi.write)', async () => {
    assert.equal((await api(server, 'GET', 'iopi/chips', undefined, viewer)).status, 200);
    assert.equal((await api(server, 'GET', 'iopi/scan?bus=1&simulate=true', undefined, viewer)).status, 200);
    const before = (await api(server, 'GET', 'iopi/chips/c1', undefined, viewer)).json.pins[8].level;
    const r = await api(server, 'POST', 'iopi/chips/c1/pins/9', { action: 'toggle' }, viewer);
    assert.ok(r.status === 401 || r.status === 403, `viewer POST: ${r.status}`);
    assert.equal((await api(server, 'POST', 'iopi/chips/c1/pins/1', { action: 'press' }, viewer)).status, r.status);
    assert.equal((await api(server, 'GET', 'iopi/chips/c1', undefined, viewer)).json.pins[8].level, before, 'unchanged');
  });

  it('lets an admin change pins', async () => {
    const before = (await api(server, 'GET', 'iopi/chips/c1', undefined, admin)).json.pins[8].level;
    const r = await api(server, 'POST', 'iopi/chips/c1/pins/9', { action: 'toggle' }, admin);
    assert.equal(r.status, 200);
    assert.equal(r.json.pins[8].level, before ? 0 : 1);
  });
});
