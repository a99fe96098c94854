/**
 * Loading the files of examples/ into node-red-node-test-helper, as Import > Examples would: the
 * nodes on a tab, config nodes global, our node modules from the compiled tree, core nodes from the
 * Node-RED in use (./red.ts). Also: taps (helper nodes wired beside a debug node or to a node's
 * output), error/warning recording, and small waiting utilities.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { coreNode, initHelper, projectRoot, requireFromProject } from './red';

export { projectRoot };

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  wires?: string[][];
  [key: string]: any;
}

/** node-red-node-test-helper (no types published). */
export interface TestHelper {
  init(runtimePath?: string, userSettings?: object): void;
  load(nodes: unknown[], flow: FlowNode[], credentials?: object): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): any;
}
export const helper: TestHelper = requireFromProject('node-red-node-test-helper');
initHelper(helper);

/** Our node types; iopi-chip is the config node. */
export const OUR_TYPES = ['iopi-chip', 'iopi-in', 'iopi-out', 'iopi-setup'] as const;
export const OUR_NON_CONFIG_TYPES = ['iopi-in', 'iopi-out', 'iopi-setup'];
/** Config node types an example may contain (global, no z, no wires). */
export const CONFIG_TYPES = new Set(['iopi-chip', 'mqtt-broker', 'tls-config']);

/** Core node types an example may use, and the module of Node-RED that provides each. */
export const CORE_MODULES: Record<string, string> = {
  inject: 'common/20-inject.js',
  debug: 'common/21-debug.js',
  complete: 'common/24-complete.js',
  catch: 'common/25-catch.js',
  status: 'common/25-status.js',
  'link in': 'common/60-link.js',
  'link out': 'common/60-link.js',
  'link call': 'common/60-link.js',
  comment: 'common/90-comment.js',
  function: 'function/10-function.js',
  switch: 'function/10-switch.js',
  change: 'function/15-change.js',
  range: 'function/16-range.js',
  template: 'function/80-template.js',
  delay: 'function/89-delay.js',
  trigger: 'function/89-trigger.js',
  rbe: 'function/rbe.js',
  'mqtt in': 'network/10-mqtt.js',
  'mqtt out': 'network/10-mqtt.js',
  'mqtt-broker': 'network/10-mqtt.js',
  json: 'parsers/70-JSON.js',
};

export function exampleNames(): string[] {
  return fs
    .readdirSync(path.join(projectRoot(), 'examples'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

export function readExample(name: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(projectRoot(), 'examples', `${name}.json`), 'utf8'));
}

/** Our compiled node modules (<compiled tree>/nodes/*.js, beside this file's test/). */
export function ourNodeModules(): unknown[] {
  const dir = path.resolve(__dirname, '..', '..', 'nodes');
  return OUR_TYPES.map((t) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(dir, `${t}.js`));
    return mod.default ?? mod; // Node-RED unwraps `default`; the test helper does not
  });
}

export const TAB = 'examples0test0tab';

/**
 * An example as a deployable flow: a tab, every non-config node on it. `taps` adds helper nodes:
 * `{helperId: nodeId}` wires the helper wherever `nodeId` is wired to (so it sees what a debug node
 * sees), `{helperId: {output: nodeId, port}}` wires it to an output of `nodeId`.
 */
export function prepareFlow(
  example: FlowNode[],
  taps: Record<string, string | { output: string; port?: number }> = {},
): FlowNode[] {
  const nodes: FlowNode[] = example.map((n) => {
    const copy = JSON.parse(JSON.stringify(n)) as FlowNode;
    if (!CONFIG_TYPES.has(copy.type)) copy.z = TAB;
    return copy;
  });
  for (const [helperId, what] of Object.entries(taps)) {
    if (typeof what === 'string') {
      let wired = 0;
      for (const n of nodes) {
        for (const port of n.wires ?? []) {
          if (port.includes(what)) {
            port.push(helperId);
            wired++;
          }
        }
      }
      assert.ok(wired > 0, `nothing is wired to ${what}`);
    } else {
      const src = nodes.find((n) => n.id === what.output);
      assert.ok(src, `no node ${what.output}`);
      src.wires![what.port ?? 0].push(helperId);
    }
    nodes.push({ id: helperId, type: 'helper', z: TAB, wires: [] });
  }
  return [{ id: TAB, type: 'tab', label: 'example', disabled: false, info: '' }, ...nodes];
}

/** The node modules a flow needs: ours and the core modules for the core types in it. */
export function modulesFor(flow: FlowNode[]): unknown[] {
  const files = new Set<string>();
  for (const n of flow) if (CORE_MODULES[n.type]) files.add(CORE_MODULES[n.type]);
  return [...ourNodeModules(), ...[...files].map((f) => coreNode(f))];
}

export interface Logged {
  node: string;
  type: string;
  level: 'error' | 'warn';
  text: string;
}

/** Loads a prepared flow and records every node.error / node.warn of its nodes. */
export async function loadFlow(flow: FlowNode[]): Promise<Logged[]> {
  await helper.load(modulesFor(flow), flow);
  const logged: Logged[] = [];
  for (const n of flow) {
    if (n.type === 'tab') continue;
    const node = helper.getNode(n.id);
    if (!node) continue;
    for (const level of ['error', 'warn'] as const) {
      node.on(`call:${level}`, (call: { args: unknown[] }) => {
        const a = call.args[0];
        logged.push({ node: n.id, type: n.type, level, text: a instanceof Error ? a.message : String(a) });
      });
    }
  }
  return logged;
}

/**
 * Messages arriving at a helper node. `json`: stores JSON copies, for objects made in a function
 * node's sandbox (another realm, so assert.deepEqual would see other prototypes).
 */
export function collect(helperId: string, options: { json?: boolean } = {}): any[] {
  const got: any[] = [];
  helper.getNode(helperId).on('input', (msg: any) => got.push(options.json ? JSON.parse(JSON.stringify(msg)) : msg));
  return got;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `cond` every 5 ms until it holds; fails with `what` after `timeout` ms. */
export async function waitFor(cond: () => boolean, timeout: number, what: string): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (cond()) return Date.now();
    if (Date.now() - start > timeout) throw new Error(`timed out after ${timeout} ms waiting for: ${what}`);
    await sleep(5);
  }
}

/**
 * For a describe block that loads flows: (re)points the helper at the Node-RED in use before it (other
 * test files may have initialised the shared helper differently), resets the simulated chips before
 * each test and unloads the flow after each.
 */
export function useHelper(resetChips: () => void): void {
  before(() => initHelper(helper));
  beforeEach(() => resetChips());
  afterEach(async () => {
    await helper.unload();
    resetChips();
  });
}

/** Runs with IOPI_SIMULATE=1 in the describe block (restored afterwards). */
export function useSimulateEnv(): void {
  let saved: string | undefined;
  before(() => {
    saved = process.env.IOPI_SIMULATE;
    process.env.IOPI_SIMULATE = '1';
  });
  after(() => {
    if (saved === undefined) delete process.env.IOPI_SIMULATE;
    else process.env.IOPI_SIMULATE = saved;
  });
}
