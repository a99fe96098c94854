/**
 * Child process of test/virtual-nodes.test.ts: runs Node-RED (node-red-node-test-helper) with our
 * nodes in hardware mode, so the iopi-chip config node opens the real i2c-bus addon, which the
 * LD_PRELOAD shim in this process's environment connects to the virtual chips. The test drives it
 * over IPC: {id, cmd, ...} → {id, ok, value | error}.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import { collect, helper, load, logs, statuses, type FlowNode } from './helpers/nodes';
import { nodeRedPath } from './helpers/red';

const collected = new Map<string, any[]>();

const commands: Record<string, (req: any) => unknown> = {
  async load(req: { flow: FlowNode[] }) {
    await load(req.flow);
    collected.clear();
    for (const n of req.flow) if (n.type === 'helper' || n.id === 'out') collected.set(n.id, collect(n.id));
    if (!collected.has('out')) collected.set('out', collect('out'));
    collected.set('errors', collect('errors'));
    return true;
  },
  /** Every status text a node has shown so far. */
  statuses: (req: { node: string }) => statuses(req.node).map((s: any) => s?.text),
  /** Messages received by a helper node since the flow was loaded (payload, pin, topic). */
  messages: (req: { node: string }) => (collected.get(req.node) ?? []).map((m) => ({ payload: m.payload, pin: m.pin, topic: m.topic })),
  /** Warnings and errors our nodes logged since the flow was loaded. */
  logs: () => [...logs('warn'), ...logs('error')],
  /** Whether a config node is online. */
  online: (req: { node: string }) => helper.getNode(req.node)?.online === true,
  async unload() {
    await helper.unload();
    return true;
  },
};

helper.init(nodeRedPath());
delete process.env.IOPI_SIMULATE;

process.on('message', (req: any) => {
  void (async () => {
    try {
      const value = await commands[req.cmd](req);
      process.send!({ id: req.id, ok: true, value });
    } catch (err) {
      process.send!({ id: req.id, ok: false, error: (err as Error).stack ?? String(err) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
