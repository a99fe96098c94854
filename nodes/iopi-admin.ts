/**
 * The editor's window on the chips: admin HTTP endpoints and live pushes for the "IO Pi" sidebar and
 * the config node's Scan button.
 *
 *   GET  iopi/chips                   ('iopi.read')  every deployed iopi-chip with its 16 pins
 *   GET  iopi/chips/:id               ('iopi.read')  one of them
 *   POST iopi/chips/:id/pins/:pin     ('iopi.write') {action: 'toggle'|'press'|'release'|'set', value?}
 *   GET  iopi/scan?bus=N&simulate=... ('iopi.read')  MCP23017 addresses 0x20-0x27 answering on bus N
 *
 * Live: every tracked chip's state is published on the comms topic `iopi/chip/<id>` (retained) within
 * 50 ms of a change (driver outputs, service reads, status, and for simulated chips every change of
 * the simulated chip), at most 20 times a second per chip, always ending with the latest state, and
 * only when something the editor shows changed (a chip polled every 20 ms sends nothing while idle).
 * When the chip node closes, `{id, removed: true}` is published (not retained) and every listener removed.
 *
 * Ordering: a push (websocket) and the answer to a click (HTTP) travel separately, so an older state can
 * arrive after a newer one. Every state and removal carries `epoch` (this runtime) and `seq` (growing);
 * the editor keeps, per chip, only what is newer than what it has.
 *
 * Every input is validated (400 with `{error}`); nothing from a request reaches a path or a shell.
 */
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import type { Request, Response, NextFunction } from 'express';
import type { ChipSupervisor, Mcp23017, ServiceResult } from '../lib';
import { i2cBusBackend } from '../lib/i2c';
import { scanBus, ScanError, type ScanResult } from '../lib/scan';
import * as simulator from '../lib/simulator';

export type PinDirectionName = 'in' | 'out';

export interface PinState {
  pin: number;
  /** GPA0-GPA7 (pins 1-8), GPB0-GPB7 (pins 9-16). */
  name: string;
  direction: PinDirectionName;
  /** The GPIO read value (inversion applied to inputs); null while unknown (a real chip's input not read yet). */
  level: 0 | 1 | null;
  pullup: boolean;
  invert: boolean;
  /** Interrupt on change enabled (GPINTEN). */
  interrupt: boolean;
  /** INTF bit: set now (simulated chip) or at the last service read (real chip). */
  pending: boolean;
  /** Simulated input held down from the sidebar or this API (driven low). */
  pressed?: boolean;
}

export interface ChipState {
  id: string;
  /** This runtime's id: a restarted Node-RED starts `seq` again. */
  epoch: string;
  /** Grows with every state computed in this runtime (so the editor can drop one that arrives late). */
  seq: number;
  name: string;
  bus: number;
  address: number;
  /** "0x20" */
  addressHex: string;
  simulated: boolean;
  online: boolean;
  /** The node status (text is an i18n key of the iopi-chip set). */
  status: NodeStatus;
  /** Whether the chip settings were valid (there is a driver). */
  valid: boolean;
  pins: PinState[];
}

/** What the iopi-chip node hands over to be watched. */
export interface TrackedChipSource {
  node: Node;
  busNumber: number;
  address: number;
  simulated: boolean;
  driver: Mcp23017 | undefined;
  supervisor: ChipSupervisor | undefined;
  status(): NodeStatus;
  online(): boolean;
}

interface Tracked extends TrackedChipSource {
  lastService: ServiceResult | undefined;
  sim: simulator.SimulatedChip | undefined;
  /** Publishes soon (throttled). */
  changed(): void;
}

/** Fastest update rate of one chip's pushes. */
export const MIN_PUBLISH_INTERVAL_MS = 50;
const ACTIONS = ['toggle', 'press', 'release', 'set'] as const;
type Action = (typeof ACTIONS)[number];
const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const WRITE_TIMEOUT_MS = 3000;
const EPOCH = `${Date.now().toString(36)}-${process.pid.toString(36)}`;
let sequence = 0;
const nextSeq = () => ++sequence;

/** Deployed chips by node id (one runtime per process). */
const tracked = new Map<string, Tracked>();
/** Pins (mask) held down through the API, per simulated chip; kept across redeploys. */
const pressedPins = new WeakMap<simulator.SimulatedChip, number>();
/** The admin apps the routes were added to (the module function may run more than once in tests). */
const routedApps = new WeakSet<object>();
/** Scans in progress, so that repeated clicks share one. */
const scans = new Map<string, Promise<ScanResult>>();

const pinName = (pin: number) => (pin <= 8 ? `GPA${pin - 1}` : `GPB${pin - 9}`);
const hex = (address: number) => '0x' + address.toString(16).padStart(2, '0');

function simulatedChip(t: { busNumber: number; address: number }): simulator.SimulatedChip | undefined {
  if (simulator.isUnplugged(t.busNumber, t.address)) return undefined;
  return simulator.chip(t.busNumber, t.address);
}

/** The current state of a tracked chip. */
export function chipState(t: Tracked): ChipState {
  let iodir = 0xffff;
  let ipol = 0;
  let gpinten = 0;
  let gppu = 0;
  let flags = 0;
  let levels: number | undefined;
  let known = 0; // pins whose level is known
  let pressed = 0;
  const sim = t.simulated ? t.sim : undefined;
  if (sim && !simulator.isUnplugged(t.busNumber, t.address)) {
    const word = (reg: number) => sim.register(reg) | (sim.register(reg + 1) << 8);
    iodir = word(0x00);
    ipol = word(0x02);
    gpinten = word(0x04);
    gppu = word(0x0c);
    flags = word(0x0e);
    levels = word(0x12);
    known = 0xffff;
    pressed = (pressedPins.get(sim) ?? 0) & iodir;
  } else if (t.driver) {
    iodir = t.driver.getRegister('IODIR');
    ipol = t.driver.getRegister('IPOL');
    gpinten = t.driver.getRegister('GPINTEN');
    gppu = t.driver.getRegister('GPPU');
    const outputs = t.driver.getOutputs();
    const inputs = t.lastService?.current ?? t.supervisor?.inputs;
    flags = t.lastService?.flags ?? 0;
    levels = (outputs & ~iodir) | ((inputs ?? 0) & iodir);
    known = (~iodir & 0xffff) | (inputs === undefined ? 0 : iodir);
  }
  const pins: PinState[] = [];
  for (let pin = 1; pin <= 16; pin++) {
    const bit = 1 << (pin - 1);
    const state: PinState = {
      pin,
      name: pinName(pin),
      direction: iodir & bit ? 'in' : 'out',
      level: levels !== undefined && known & bit ? (levels & bit ? 1 : 0) : null,
      pullup: (gppu & bit) !== 0,
      invert: (ipol & bit) !== 0,
      interrupt: (gpinten & bit) !== 0,
      pending: (flags & bit) !== 0,
    };
    if (t.simulated && iodir & bit) state.pressed = (pressed & bit) !== 0;
    pins.push(state);
  }
  const name = (t.node as Node & { name?: unknown }).name;
  return {
    id: t.node.id,
    epoch: EPOCH,
    seq: nextSeq(),
    name: typeof name === 'string' ? name : '',
    bus: t.busNumber,
    address: t.address,
    addressHex: hex(t.address),
    simulated: t.simulated,
    online: t.online(),
    status: t.status(),
    valid: t.driver !== undefined,
    pins,
  };
}

/**
 * Watches a deployed iopi-chip for the editor: its state is served by the endpoints and pushed on
 * `iopi/chip/<id>`. Returns `changed()` (something the tracker cannot see changed, e.g. the status)
 * and `stop()` (call it in the node's close).
 */
export function trackChip(RED: NodeAPI, source: TrackedChipSource): { changed(): void; stop(): void } {
  const id = source.node.id;
  const topic = `iopi/chip/${id}`;
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  /** What was last published, without epoch/seq: an unchanged state is not sent again. */
  let lastShown: string | undefined;
  let stopped = false;
  const t: Tracked = {
    ...source,
    lastService: undefined,
    sim: source.simulated && source.driver ? simulatedChip(source) : undefined,
    changed: () => {
      if (stopped || timer) return;
      const wait = Math.max(0, last + MIN_PUBLISH_INTERVAL_MS - Date.now());
      timer = setTimeout(publish, wait);
    },
  };
  const publish = () => {
    timer = undefined;
    if (stopped) return;
    const state = chipState(t);
    const { epoch: _epoch, seq: _seq, ...shown } = state;
    const key = JSON.stringify(shown);
    if (key === lastShown) return;
    lastShown = key;
    last = Date.now();
    try {
      RED.comms.publish(topic, state, true);
    } catch (err) {
      source.node.warn(`iopi: cannot publish the chip state: ${(err as Error).message}`);
    }
  };
  const onService = (result: ServiceResult) => {
    t.lastService = result;
    t.changed();
  };
  const onChange = () => t.changed();
  // Everything that can change what the editor shows; removed again in stop().
  type Emitter = { on(event: string, fn: (...args: never[]) => void): unknown; off(event: string, fn: (...args: never[]) => void): unknown };
  const listeners: [Emitter | undefined, string, (...args: never[]) => void][] = [
    [source.driver, 'service', onService], [source.driver, 'outputs', onChange], [source.driver, 'online', onChange],
    [source.driver, 'offline', onChange], [source.supervisor, 'status', onChange], [t.sim, 'change', onChange],
  ];
  for (const [emitter, event, fn] of listeners) emitter?.on(event, fn);
  tracked.set(id, t);
  t.changed();

  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    for (const [emitter, event, fn] of listeners) emitter?.off(event, fn);
    if (tracked.get(id) === t) {
      tracked.delete(id);
      try {
        RED.comms.publish(topic, { id, removed: true, epoch: EPOCH, seq: nextSeq() }, false); // also drops the retained state
      } catch {
        // the runtime is going down
      }
    }
  };
  return { changed: () => t.changed(), stop };
}

/** Number of chips tracked now (for tests: every close must untrack). */
export function trackedCount(): number {
  return tracked.size;
}

// -------------------------------------------------------------------------------------------------
// HTTP

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function fail(res: Response, err: unknown): void {
  if (err instanceof HttpError) {
    res.status(err.status).json({ error: err.message });
  } else {
    res.status(500).json({ error: (err as Error)?.message || String(err) });
  }
}

/** A tracked chip from the :id parameter: 400 when malformed, 404 when no iopi-chip has that id. */
function chipParam(RED: NodeAPI, value: unknown): Tracked {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) throw new HttpError(400, 'id must be the id of an iopi-chip node');
  const t = tracked.get(value);
  const node = RED.nodes.getNode(value) as (Node & { type?: string }) | null;
  if (!t || !node || node !== t.node) throw new HttpError(404, `no deployed iopi-chip has the id ${value}`);
  return t;
}

function pinParam(value: unknown): number {
  if (typeof value !== 'string' || !/^\d{1,2}$/.test(value)) throw new HttpError(400, 'pin must be an integer from 1 to 16');
  const pin = Number(value);
  if (pin < 1 || pin > 16) throw new HttpError(400, 'pin must be an integer from 1 to 16');
  return pin;
}

function busParam(value: unknown): number {
  if (typeof value !== 'string' || !/^\d{1,3}$/.test(value) || Number(value) > 255) {
    throw new HttpError(400, 'bus must be an integer from 0 to 255');
  }
  return Number(value);
}

function booleanParam(value: unknown, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new HttpError(400, `${name} must be true or false`);
}

interface PinRequest {
  action: Action;
  value?: 0 | 1 | null;
}

function pinRequest(body: unknown): PinRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object {action, value?}');
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (key !== 'action' && key !== 'value') throw new HttpError(400, `unknown property ${JSON.stringify(key.slice(0, 40))}`);
  }
  const action = Object.prototype.hasOwnProperty.call(b, 'action') ? b.action : undefined;
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) {
    throw new HttpError(400, `action must be one of ${ACTIONS.join(', ')}`);
  }
  const hasValue = Object.prototype.hasOwnProperty.call(b, 'value');
  if (action === 'set') {
    const v = b.value;
    if (!hasValue || !(v === 0 || v === 1 || v === null || v === true || v === false)) {
      throw new HttpError(400, 'set needs a value: 0, 1 (or null to release a simulated input)');
    }
    return { action, value: v === null ? null : v === 1 || v === true ? 1 : 0 };
  }
  if (hasValue) throw new HttpError(400, `${action} takes no value`);
  return { action: action as Action };
}

function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new HttpError(504, `${what}: no answer within ${ms} ms`)), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e); });
  });
}

/** Carries out a pin request; resolves when done (writes reached the chip). */
async function actOnPin(t: Tracked, pin: number, request: PinRequest): Promise<void> {
  const bit = 1 << (pin - 1);
  const before = chipState(t).pins[pin - 1];
  if (before.direction === 'out') {
    if (!t.driver) throw new HttpError(409, 'the chip settings are invalid: it has no driver');
    if (request.action === 'press' || request.action === 'release') {
      throw new HttpError(409, `pin ${pin} is an output: use toggle or set`);
    }
    if (request.action === 'set' && request.value === null) throw new HttpError(400, `pin ${pin} is an output: set it to 0 or 1`);
    const write = request.action === 'toggle' ? t.driver.toggleMasked(bit) : t.driver.writeMasked(bit, request.value ? bit : 0);
    try {
      await timeout(write, WRITE_TIMEOUT_MS, `writing pin ${pin}`);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(503, `cannot write pin ${pin}: ${(err as Error).message}`);
    }
    return;
  }
  // An input: only a simulated one can be driven.
  if (!t.simulated) throw new HttpError(409, `pin ${pin} is an input of a real chip: it can only be read`);
  const sim = t.sim;
  if (!sim || simulator.isUnplugged(t.busNumber, t.address)) throw new HttpError(503, 'the simulated chip is unplugged');
  const pressed = pressedPins.get(sim) ?? 0;
  let press: boolean | undefined;
  let drive: 0 | 1 | null;
  switch (request.action) {
    case 'press': press = true; drive = 0; break;
    case 'release': press = false; drive = null; break;
    case 'toggle': press = !(pressed & bit); drive = press ? 0 : null; break;
    default: drive = request.value ?? null; press = false; break;
  }
  pressedPins.set(sim, press ? pressed | bit : pressed & ~bit);
  sim.setInput(pin, drive);
  t.changed();
}

function scan(simulated: boolean, bus: number): Promise<ScanResult> {
  const key = `${simulated ? 'sim' : 'i2c'}:${bus}`;
  let running = scans.get(key);
  if (!running) {
    running = scanBus(simulated ? simulator.simulatorBackend : i2cBusBackend(), bus).finally(() => scans.delete(key));
    scans.set(key, running);
  }
  return running;
}

const sortChips = (a: ChipState, b: ChipState) => a.bus - b.bus || a.address - b.address || a.id.localeCompare(b.id);

/** Adds the admin endpoints (once per admin app). */
export function registerAdmin(RED: NodeAPI): void {
  const app = RED.httpAdmin as unknown as {
    get(path: string, ...handlers: ((req: Request, res: Response, next: NextFunction) => void)[]): void;
    post(path: string, ...handlers: ((req: Request, res: Response, next: NextFunction) => void)[]): void;
  } | undefined;
  if (!app || routedApps.has(app)) return;
  routedApps.add(app);
  const read = RED.auth.needsPermission('iopi.read');
  const write = RED.auth.needsPermission('iopi.write');

  app.get('/iopi/chips', read, (_req, res) => {
    res.json([...tracked.values()].map(chipState).sort(sortChips));
  });

  app.get('/iopi/chips/:id', read, (req, res) => {
    try {
      res.json(chipState(chipParam(RED, req.params.id)));
    } catch (err) {
      fail(res, err);
    }
  });

  app.post('/iopi/chips/:id/pins/:pin', write, (req, res) => {
    (async () => {
      const t = chipParam(RED, req.params.id);
      const pin = pinParam(req.params.pin);
      const request = pinRequest(req.body);
      await actOnPin(t, pin, request);
      res.json(chipState(t));
    })().catch((err) => fail(res, err));
  });

  app.get('/iopi/scan', read, (req, res) => {
    (async () => {
      const bus = busParam(req.query.bus);
      const asked = booleanParam(req.query.simulate, 'simulate');
      const simulated = asked === true || process.env.IOPI_SIMULATE === '1';
      try {
        const result = await scan(simulated, bus);
        res.json({ bus, simulated, addresses: result.addresses, hex: result.addresses.map(hex) });
      } catch (err) {
        if (err instanceof ScanError) throw new HttpError(503, err.message);
        throw err;
      }
    })().catch((err) => fail(res, err));
  });
}
