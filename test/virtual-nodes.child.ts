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
/** Status changes of each config node's supervisor, with the time they happened. */
const chipStates = new Map<string, { at: number; state: string; failedProbes?: number }[]>();

const commands: Record<string, (req: any) => unknown> = {
  async load(req: { flow: FlowNode[]; completeScope?: string[] }) {
    await load(req.flow, { completeScope: req.completeScope });
    collected.clear();
    chipStates.clear();
    for (const n of req.flow) if (n.type === 'helper' || n.id === 'out') collected.set(n.id, collect(n.id));
    if (!collected.has('out')) collected.set('out', collect('out'));
    collected.set('errors', collect('errors'));
    if (req.completeScope) collected.set('completes', collect('completes'));
    for (const n of req.flow) {
      const supervisor = n.type === 'iopi-chip' ? helper.getNode(n.id)?.supervisor : undefined;
      if (!supervisor) continue;
      const list: { at: number; state: string; failedProbes?: number }[] = [];
      chipStates.set(n.id, list);
      supervisor.on('status', (s: any) => list.push({ at: Date.now(), state: s.state, failedProbes: s.failedProbes }));
    }
    return true;
  },
  /** Sends a message to a node and waits for its done() ('ok') or done(err) (the error text). */
  async deliver(req: { node: string; msg: any; timeoutMs?: number }) {
    const completes = collected.get('completes') ?? [];
    const errors = collected.get('errors') ?? [];
    const c = completes.length;
    const e = errors.length;
    helper.getNode(req.node).receive(req.msg);
    const end = Date.now() + (req.timeoutMs ?? 20000);
    while (completes.length === c && errors.length === e) {
      if (Date.now() > end) throw new Error(`no done() for ${JSON.stringify(req.msg)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return errors.length > e ? String(errors[errors.length - 1].error.message) : 'ok';
  },
  /** The status changes of a config node's supervisor since the flow was loaded. */
  chipStates: (req: { node: string }) => chipStates.get(req.node) ?? [],
  /** Counters of a config node's bus transport. */
  transportStats: (req: { node: string }) => ({ ...helper.getNode(req.node)?.driver?.transport.stats }),
  /** Every status text a node has shown so far. */
  statuses: (req: { node: string }) => statuses(req.node).map((s: any) => s?.text),
  /** Messages received by a helper node since the flow was loaded (payload, pin, topic). */
  messages: (req: { node: string }) => (collected.get(req.node) ?? []).map((m) => ({ payload: m.payload, pin: m.pin, topic: m.topic })),
  /** Warnings and errors our nodes logged since the flow was loaded. */
  logs: () => [...logs('warn'), ...logs('error'), ...logs('info')],
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
