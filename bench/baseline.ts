/**
 * The baseline: the approach most existing MCP23017 Node-RED nodes take, as two small node types
 * run on the same simulated bus (and wire-time model) as ours, plus a message source for the
 * throughput run.
 *
 * - bench-baseline-in: polls GPIO with two single-byte reads (GPIOA, GPIOB) on a setInterval and
 *   sends one message per pin whose value differs from the last poll (inverted, like ours with
 *   pull-ups: pressed = true). No INT line.
 * - bench-baseline-out: a pin write is a read-modify-write: read the port's GPIO, set or clear the
 *   bit, write GPIO back; done() once the write has landed. Messages are handled one at a time (as
 *   the synchronous i2c-bus calls of those nodes do), so no write is lost to an interleaved read.
 * - bench-source: sends a list of messages down its wire, one per turn of the event loop.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { Backend, I2cBus } from '../lib/i2c';

const GPIOA = 0x12;
const GPPUA = 0x0c;
const IODIRA = 0x00;

let backend: Backend | undefined;
/** The bus backend the baseline nodes open (the bench's wired simulator). */
export function setBaselineBackend(b: Backend): void {
  backend = b;
}

interface BaselineInDef extends NodeDef {
  bus: number;
  address: number;
  pollInterval: number;
  pins: number[];
}
interface BaselineOutDef extends NodeDef {
  bus: number;
  address: number;
  port: 0 | 1;
}

export default function (RED: NodeAPI) {
  function BaselineIn(this: Node, config: BaselineInDef) {
    RED.nodes.createNode(this, config);
    const node = this as Node & { ready?: Promise<void> };
    let bus: I2cBus | undefined;
    let last: number | undefined;
    let busy = false;
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const mask = config.pins.reduce((m, p) => m | (1 << (p - 1)), 0);
    const poll = async () => {
      if (busy || !bus || closed) return; // a poll still running: skip this tick
      busy = true;
      try {
        const a = await bus.readByte(config.address, GPIOA);
        const b = await bus.readByte(config.address, GPIOA + 1);
        const value = a | (b << 8);
        if (last !== undefined && !closed) {
          const changed = (value ^ last) & mask;
          for (let pin = 1; pin <= 16; pin++) {
            if (!(changed & (1 << (pin - 1)))) continue;
            node.send({ topic: `pin/${pin}`, payload: (value & (1 << (pin - 1))) === 0, pin } as NodeMessage);
          }
        }
        last = value;
      } catch (err) {
        node.error(err);
      } finally {
        busy = false;
      }
    };
    node.ready = (async () => {
      bus = await backend!.open(config.bus);
      await bus.writeByte(config.address, IODIRA, 0xff);
      await bus.writeByte(config.address, IODIRA + 1, 0xff);
      await bus.writeByte(config.address, GPPUA, 0xff);
      await bus.writeByte(config.address, GPPUA + 1, 0xff);
      if (closed) return;
      await poll(); // the first value
      timer = setInterval(() => void poll(), config.pollInterval);
    })();
    node.on('close', (done: () => void) => {
      closed = true;
      if (timer) clearInterval(timer);
      node.ready!.catch(() => undefined).then(async () => {
        while (busy) await new Promise((r) => setTimeout(r, 1));
        await bus?.close().catch(() => undefined);
        done();
      });
    });
  }

  function BaselineOut(this: Node, config: BaselineOutDef) {
    RED.nodes.createNode(this, config);
    const node = this as Node & { ready?: Promise<void> };
    let bus: I2cBus | undefined;
    const reg = GPIOA + config.port;
    node.ready = (async () => {
      bus = await backend!.open(config.bus);
      await bus.writeByte(config.address, IODIRA + config.port, 0x00);
    })();
    let chain: Promise<unknown> = node.ready;
    node.on('input', (msg: NodeMessage, _send: unknown, done: (err?: Error) => void) => {
      const m = msg as NodeMessage & { pin: number };
      const bit = 1 << ((m.pin - 1) % 8);
      const on = m.payload === true || m.payload === 1;
      chain = chain.then(async () => {
        const value = await bus!.readByte(config.address, reg);
        await bus!.writeByte(config.address, reg, on ? value | bit : value & ~bit & 0xff);
        done();
      }).catch((err: Error) => done(err));
    });
    node.on('close', (done: () => void) => {
      chain.catch(() => undefined).then(async () => {
        await bus?.close().catch(() => undefined);
        done();
      });
    });
  }

  function Source(this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this as Node & { burst?: (msgs: object[]) => Promise<void> };
    let closed = false;
    /** Sends the messages one per turn of the event loop; resolves when the last one is sent. */
    node.burst = (msgs: object[]) => new Promise((resolve) => {
      let i = 0;
      const next = () => {
        if (closed || i >= msgs.length) return resolve();
        node.send(msgs[i++] as NodeMessage);
        setImmediate(next);
      };
      next();
    });
    node.on('close', () => {
      closed = true;
    });
  }

  RED.nodes.registerType('bench-baseline-in', BaselineIn as any);
  RED.nodes.registerType('bench-baseline-out', BaselineOut as any);
  RED.nodes.registerType('bench-source', Source as any);
}
