/**
 * Shared helpers for the node tests (test/nodes-*.test.ts): flows built around the iopi nodes on the
 * simulated chip, a Catch node and a Complete node, status and log recording, register snapshots and
 * small waiting utilities.
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-require-imports */
import assert from 'node:assert/strict';
import { coreNode, nodeRedPath, requireFromProject } from './red';

export const helper: any = requireFromProject('node-red-node-test-helper');
export const sim: typeof import('../../lib/simulator') = require('../../lib/simulator');
export const { Transport }: typeof import('../../lib/transport') = require('../../lib/transport');
export const { BANK0 }: typeof import('../../lib/registers') = require('../../lib/registers');

const chipModule = require('../../nodes/iopi-chip').default;
const inModule = require('../../nodes/iopi-in').default;
const outModule = require('../../nodes/iopi-out').default;
const setupModule = require('../../nodes/iopi-setup').default;

export const TAB = 'tab1';
export const BUS = 1;

export type FlowNode = Record<string, any> & { id: string; type: string };

/** An iopi-chip config node (simulated, fast polling). */
export function chipNode(over: Partial<FlowNode> = {}): FlowNode {
  return {
    id: 'chip1', type: 'iopi-chip', name: '', bus: 1, address: 0x20, interruptMode: 'poll', pollInterval: 10,
    intLine: 'GPIO23', mirror: true, openDrain: true, activeHigh: false, simulate: true, ...over,
  };
}

export function inNode(over: Partial<FlowNode> = {}): FlowNode {
  return {
    id: 'in1', type: 'iopi-in', name: '', chip: 'chip1', target: 'pins', pins: [3], output: 'pin', edge: 'both',
    debounce: 0, initial: false, pullup: true, invert: true, topic: '', wires: [['out']], ...over,
  };
}

export function outNode(over: Partial<FlowNode> = {}): FlowNode {
  return {
    id: 'out1', type: 'iopi-out', name: '', chip: 'chip1', target: 'pin', pins: [1], port: 0, mode: 'set',
    pulse: 1000, initial: '', passthrough: false, msgTarget: true, wires: [['out']], ...over,
  };
}

/** A pin entry of iopi-setup. */
export function pinEntry(over: Record<string, unknown> = {}) {
  return { use: false, dir: 'in', pullup: false, invert: false, int: false, intType: 'change', defval: 0, ...over };
}

export function setupNode(over: Partial<FlowNode> = {}): FlowNode {
  return {
    id: 'setup1', type: 'iopi-setup', name: '', chip: 'chip1',
    pinConfig: Array.from({ length: 16 }, () => pinEntry()),
    setInt: false, mirror: true, openDrain: true, activeHigh: false, applyOnDeploy: true, wires: [['out']], ...over,
  };
}

const CATCH = 'catch1';
const COMPLETE = 'complete1';

/**
 * Loads a flow: a tab; every non-config node gets `z`; a Catch node (→ helper "errors"), a Complete
 * node for the given scope (→ helper "completes") and a helper node "out" are added.
 */
export async function load(nodes: FlowNode[], options: { completeScope?: string[] } = {}): Promise<void> {
  await helper.load([chipModule, inModule, outModule, setupModule, coreNode('common/25-catch.js'), coreNode('common/24-complete.js')], flowOf(nodes, options));
}

/** The flow {@link load} deploys (for a later `helper.setFlows(flowOf(...), 'nodes')`: a modified-nodes deploy). */
export function flowOf(nodes: FlowNode[], options: { completeScope?: string[] } = {}): FlowNode[] {
  const flow: FlowNode[] = [{ id: TAB, type: 'tab', label: 'test' }];
  for (const n of nodes) {
    if (n.type === 'iopi-chip') flow.push({ ...n });
    else flow.push({ z: TAB, ...n });
  }
  flow.push({ id: CATCH, type: 'catch', z: TAB, scope: null, uncaught: false, wires: [['errors']] });
  flow.push({ id: 'errors', type: 'helper', z: TAB });
  if (!nodes.some((n) => n.id === 'out')) flow.push({ id: 'out', type: 'helper', z: TAB });
  if (options.completeScope) {
    flow.push({ id: COMPLETE, type: 'complete', z: TAB, scope: options.completeScope, uncaught: false, wires: [['completes']] });
    flow.push({ id: 'completes', type: 'helper', z: TAB });
  }
  return flow;
}

/** Messages arriving at a helper node, recorded from now on. */
export function collect(id: string): any[] {
  const got: any[] = [];
  helper.getNode(id).on('input', (msg: any) => got.push(msg));
  return got;
}

/** Every status a node has shown since the flow was loaded (the helper spies on Node.prototype.status). */
export function statuses(id: string): any[] {
  const node = helper.getNode(id);
  const spy = findStatusSpy(node);
  assert.ok(spy, 'the helper spies on Node.prototype.status');
  return spy.getCalls().filter((c: any) => c.thisValue === node || c.thisValue?.id === id).map((c: any) => c.args[0]);
}

function findStatusSpy(node: any): any {
  let p = Object.getPrototypeOf(node);
  while (p) {
    const d = Object.getOwnPropertyDescriptor(p, 'status');
    if (d && typeof d.value?.getCalls === 'function') return d.value;
    p = Object.getPrototypeOf(p);
  }
  return undefined;
}

/** The last status text of a node. */
export function lastStatus(id: string): any {
  const all = statuses(id);
  return all[all.length - 1];
}

/** Log entries (warn/error/...) of the runtime since the flow was loaded: {level, id, type, msg}. */
export function logs(level?: 'warn' | 'error' | 'info'): { level: number; id: string; type: string; msg: string }[] {
  const spy = helper.log();
  // entries of our nodes only (not the helper's own notices)
  const all = spy.args.map((a: any[]) => a[0]).filter((e: any) => e && typeof e === 'object' && e.id);
  const want = level === 'warn' ? spy.WARN : level === 'error' ? spy.ERROR : level === 'info' ? spy.INFO : undefined;
  return all
    .filter((e: any) => want === undefined || e.level === want)
    .map((e: any) => ({ level: e.level, id: e.id, type: e.type, msg: e.msg instanceof Error ? e.msg.message : String(e.msg) }));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `cond` every 2 ms until it holds; fails with `what` after `timeout` ms. */
export async function waitFor(cond: () => boolean, timeout: number, what: string | (() => string)): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (cond()) return;
    if (Date.now() - start > timeout) throw new Error(`timed out after ${timeout} ms waiting for: ${typeof what === 'function' ? what() : what}`);
    await sleep(2);
  }
}

/** Waits for the config node to be online and its first service read (the input baseline) to be done. */
export async function online(chipId = 'chip1'): Promise<any> {
  const chip = helper.getNode(chipId);
  assert.ok(chip, `config node ${chipId} loaded`);
  await waitFor(() => chip.online === true, 3000, `${chipId} online`);
  await sleep(30);
  return chip;
}

/** All 22 BANK=0 registers of a simulated chip (no side effects). */
export function registers(address = 0x20, bus = BUS): number[] {
  const c = sim.chip(bus, address);
  return Array.from({ length: 22 }, (_, i) => c.register(i));
}

/** A 16-bit register value (port A | port B << 8) of a simulated chip. */
export function reg16(name: keyof typeof BANK0 extends `${infer R}A` | `${infer R}B` ? R : never, address = 0x20): number {
  const c = sim.chip(BUS, address);
  return c.register((BANK0 as any)[name + 'A']) | (c.register((BANK0 as any)[name + 'B']) << 8);
}

/** Output levels of pins 1-16 as a 16-bit number. */
export function levels(address = 0x20): number {
  const c = sim.chip(BUS, address);
  let v = 0;
  for (let p = 1; p <= 16; p++) if (c.pinLevel(p)) v |= 1 << (p - 1);
  return v;
}

/** Sends a message into a node and lets the runtime deliver it. */
export function send(id: string, msg: Record<string, unknown>): void {
  helper.getNode(id).receive(msg);
}

/**
 * For a describe block of node tests: inits the helper against the Node-RED in use, resets the
 * simulated chips before each test, unloads the flow after each (and checks no transport is left).
 */
export function useNodeHelper(): void {
  let saved: string | undefined;
  before(() => {
    helper.init(nodeRedPath());
    saved = process.env.IOPI_SIMULATE;
    delete process.env.IOPI_SIMULATE;
  });
  after(() => {
    if (saved !== undefined) process.env.IOPI_SIMULATE = saved;
  });
  beforeEach(() => sim.reset());
  afterEach(async () => {
    await helper.unload();
    sim.reset();
  });
}

/** Number of active timers (Timeout resources) in the process. */
export function activeTimers(): number {
  const info = (process as any).getActiveResourcesInfo?.() as string[] | undefined;
  return info ? info.filter((r) => r === 'Timeout').length : 0;
}
