/**
 * The MQTT examples end to end: a real Mosquitto on 127.0.0.1 and a free port (the examples' broker
 * node is pointed at it), the example loaded with IOPI_SIMULATE=1, and a real MQTT client (the `mqtt`
 * package Node-RED itself uses) on the other side.
 */
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sim: typeof import('../lib/simulator') = require('../lib/simulator');
import { BANK0 } from '../lib/registers';
import {
  collect, helper, loadFlow, prepareFlow, readExample, sleep, useHelper, useSimulateEnv, waitFor,
  type FlowNode, type Logged,
} from './helpers/examples';
import { useMosquitto, type Broker } from './helpers/mosquitto';
import { requireFromProject } from './helpers/red';

// mqtt is Node-RED's own MQTT client (a dependency of node-red).
const { connectAsync } = requireFromProject('mqtt') as typeof import('mqtt');

const BUS = 1;
const errors = (logged: Logged[]) => logged.filter((l) => l.level === 'error');

/** The example with its broker node pointed at the test broker. */
function withBroker(example: FlowNode[], broker: Broker): FlowNode[] {
  const brokers = example.filter((n) => n.type === 'mqtt-broker');
  assert.equal(brokers.length, 1);
  return example.map((n) => (n.type === 'mqtt-broker' ? { ...n, broker: broker.host, port: broker.port } : n));
}

/** Waits until a client other than the test's has subscribed to `topic` (mosquitto logs subscriptions). */
async function subscribed(broker: Broker, topic: string, timeout = 5000): Promise<void> {
  const re = new RegExp(`: (?!iopi-test)\\S+ \\d ${topic.replace(/[/]/g, '\\/')}\\s*$`, 'm');
  await waitFor(() => re.test(broker.output()), timeout, `a subscription to ${topic}\n${broker.output()}`);
}

describe('MQTT examples against a real Mosquitto', function () {
  this.timeout(30000);
  const broker = useMosquitto();
  useSimulateEnv();
  useHelper(() => sim.reset());

  let client: MqttClient | undefined;
  async function testClient(): Promise<MqttClient> {
    const b = broker();
    client = await connectAsync({ host: b.host, port: b.port, clientId: `iopi-test-${process.pid}`, reconnectPeriod: 0 });
    return client;
  }
  afterEach(async () => {
    if (client) await client.endAsync(true);
    client = undefined;
  });

  describe('mqtt-read-ports', () => {
    const example = readExample('mqtt-read-ports');
    const injectId = example.find((n) => n.type === 'inject')!.id;
    const debugId = example.find((n) => n.type === 'debug')!.id;

    it('publishes sensor/iopi/ports with [p0, p1, p2, p3] of both chips, soon after deploy and on each tick', async () => {
      const c20 = sim.chip(BUS, 0x20);
      const c21 = sim.chip(BUS, 0x21);
      c20.setInput(1, 0); // 0x20 port 0 bit 0 low: p0 = 254
      c21.setInput(16, 0); // 0x21 port 1 bit 7 low: p3 = 127

      const mq = await testClient();
      const received: string[] = [];
      mq.on('message', (topic, payload) => {
        if (topic === 'sensor/iopi/ports') received.push(payload.toString());
      });
      await mq.subscribeAsync('sensor/iopi/ports', { qos: 0 });

      const logged = await loadFlow(prepareFlow(withBroker(example, broker()), { tap: debugId }));
      const fromFlow = collect('tap');
      const inject = helper.getNode(injectId);

      // The inject fires once 1 s after deploy, then every 10 s.
      await waitFor(() => received.length >= 1, 5000, 'the first publication');
      assert.equal(inject.repeat, 10000, 'repeats every 10 s');
      assert.ok(inject.interval_id, 'the 10 s repeat is running');
      assert.equal(received[0], '[254, 255, 255, 127]');
      assert.deepEqual(JSON.parse(received[0]), [254, 255, 255, 127]);

      // All 32 pins inputs with pull-ups, not inverted, as the vendor demo sets them.
      for (const c of [c20, c21]) {
        assert.equal(c.register(BANK0.IODIRA) | (c.register(BANK0.IODIRB) << 8), 0xffff);
        assert.equal(c.register(BANK0.GPPUA) | (c.register(BANK0.GPPUB) << 8), 0xffff);
        assert.equal(c.register(BANK0.IPOLA) | (c.register(BANK0.IPOLB) << 8), 0x0000);
      }

      // Inputs change; the next tick (triggered here instead of waiting 10 s) has the new values.
      c20.setInput(1, null);
      c20.setInput(9, 0); // p1 = 254
      c21.setInput(16, null);
      c21.setInput(3, 0); // p2 = 251
      await sleep(300); // the in nodes poll every 50 ms
      inject.receive({});
      await waitFor(() => received.length >= 2, 3000, 'the second publication');
      assert.equal(received[1], '[255, 254, 251, 255]');

      // The example's own subscriber (mqtt in -> debug) got them from the broker too.
      await waitFor(() => fromFlow.length >= 2, 3000, 'the flow\'s mqtt in');
      assert.deepEqual(fromFlow.map((m) => [m.topic, m.payload]), [
        ['sensor/iopi/ports', '[254, 255, 255, 127]'],
        ['sensor/iopi/ports', '[255, 254, 251, 255]'],
      ]);
      assert.deepEqual(errors(logged), []);
    });
  });

  describe('mqtt-control', () => {
    const example = readExample('mqtt-control');
    const catchId = example.find((n) => n.type === 'catch')!.id;
    const injectId = (payload: string) => example.find((n) => n.type === 'inject' && n.payload === payload)!.id;
    const c20 = () => sim.chip(BUS, 0x20);
    const c21 = () => sim.chip(BUS, 0x21);
    const latches = () => [c20().register(BANK0.OLATA), c20().register(BANK0.OLATB), c21().register(BANK0.OLATA), c21().register(BANK0.OLATB)];

    async function deployed() {
      const logged = await loadFlow(prepareFlow(withBroker(example, broker()), { tap: { output: catchId } }));
      const caught = collect('tap');
      await waitFor(
        () => [c20(), c21()].every((c) => c.register(BANK0.IODIRA) === 0 && c.register(BANK0.IODIRB) === 0),
        3000,
        'all 32 pins outputs',
      );
      await subscribed(broker(), 'topic/iopi');
      return { logged, caught };
    }

    it('starts with all 32 pins outputs at 0; "5,1" and "17,1" switch 0x20 pin 5 and 0x21 pin 1', async () => {
      c20().setInput(5, 1); // driven high while still an input: must read 0 once the example made it an output
      const { logged, caught } = await deployed();
      assert.deepEqual(latches(), [0, 0, 0, 0]);
      for (let p = 1; p <= 16; p++) assert.equal(c20().pinLevel(p) + c21().pinLevel(p), 0, `pin ${p}`);

      const mq = await testClient();
      await mq.publishAsync('topic/iopi', '5,1');
      await waitFor(() => c20().pinLevel(5) === 1, 3000, '0x20 pin 5 on');
      await mq.publishAsync('topic/iopi', '17,1');
      await waitFor(() => c21().pinLevel(1) === 1, 3000, '0x21 pin 1 on');
      assert.deepEqual(latches(), [0x10, 0, 0x01, 0]);
      await mq.publishAsync('topic/iopi', '32,1');
      await waitFor(() => c21().pinLevel(16) === 1, 3000, '0x21 pin 16 on');
      await mq.publishAsync('topic/iopi', '5,0');
      await waitFor(() => c20().pinLevel(5) === 0, 3000, '0x20 pin 5 off');
      assert.deepEqual(latches(), [0, 0, 0x01, 0x80]);
      assert.deepEqual(caught, []);
      assert.deepEqual(errors(logged), []);
    });

    it('rejects malformed payloads ("99,1", "x", "5,2", "0,1", "") through the catch node, writing nothing', async () => {
      const { logged, caught } = await deployed();
      const mq = await testClient();
      await mq.publishAsync('topic/iopi', '3,1');
      await waitFor(() => c20().pinLevel(3) === 1, 3000, '0x20 pin 3 on');
      const before = latches();
      let writes = 0;
      const count = () => writes++;
      c20().on('change', count);
      c21().on('change', count);
      try {
        for (const bad of ['99,1', 'x', '5,2', '0,1', '']) await mq.publishAsync('topic/iopi', bad);
        await waitFor(() => caught.length >= 5, 3000, '5 rejections at the catch node');
        await sleep(200);
        assert.equal(caught.length, 5);
        for (const [i, bad] of ['99,1', 'x', '5,2', '0,1', ''].entries()) {
          assert.match(caught[i].error.message, /pin,state/);
          assert.ok(caught[i].error.message.includes(JSON.stringify(bad)), caught[i].error.message);
        }
        assert.deepEqual(latches(), before);
        assert.equal(writes, 0, 'a rejected payload changed a chip');
      } finally {
        c20().off('change', count);
        c21().off('change', count);
      }
      // Still working afterwards.
      await mq.publishAsync('topic/iopi', '20,1');
      await waitFor(() => c21().pinLevel(4) === 1, 3000, '0x21 pin 4 on');
      assert.ok(errors(logged).every((l) => l.type === 'function'), JSON.stringify(errors(logged)));
    });

    it('the demo-server inject nodes publish through the broker and switch pins 1 and 17', async () => {
      const { logged, caught } = await deployed();
      helper.getNode(injectId('1,1')).receive({});
      await waitFor(() => c20().pinLevel(1) === 1, 3000, '0x20 pin 1 on');
      helper.getNode(injectId('17,1')).receive({});
      await waitFor(() => c21().pinLevel(1) === 1, 3000, '0x21 pin 1 on');
      helper.getNode(injectId('1,0')).receive({});
      await waitFor(() => c20().pinLevel(1) === 0, 3000, '0x20 pin 1 off');
      helper.getNode(injectId('17,0')).receive({});
      await waitFor(() => c21().pinLevel(1) === 0, 3000, '0x21 pin 1 off');
      assert.deepEqual(caught, []);
      assert.deepEqual(errors(logged), []);
    });
  });
});
