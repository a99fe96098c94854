/**
 * examples/*.json as Import > Examples and the Flow Library scorecard (N02) see them: JSON arrays of
 * nodes, each with a Comment node, only core nodes and ours, together using every non-config type of
 * ours; ids unique, wires and config references resolving; ready for a real IO Pi Plus.
 */
import assert from 'node:assert/strict';
import {
  CONFIG_TYPES, CORE_MODULES, OUR_NON_CONFIG_TYPES, OUR_TYPES, exampleNames, readExample, type FlowNode,
} from './helpers/examples';

const EXPECTED = [
  'buttons-and-leds', 'door-contacts', 'int-line', 'mqtt-control', 'mqtt-read-ports', 'opto-inputs', 'relays',
];

describe('examples: files', () => {
  it('has the examples the README describes', () => {
    assert.deepEqual(exampleNames(), EXPECTED);
  });

  it('together they use every non-config node type of ours (Flow Library check N02)', () => {
    const used = new Set(exampleNames().flatMap((name) => readExample(name).map((n) => n.type)));
    for (const t of OUR_NON_CONFIG_TYPES) assert.ok(used.has(t), `no example uses ${t}`);
  });

  for (const name of EXPECTED) {
    describe(name, () => {
      let nodes: FlowNode[];
      before(() => {
        nodes = readExample(name);
      });

      it('is a JSON array of nodes with unique ids, no tab and no z (Import places them)', () => {
        assert.ok(Array.isArray(nodes) && nodes.length > 1);
        const ids = nodes.map((n) => n.id);
        assert.equal(new Set(ids).size, ids.length, 'duplicate ids');
        for (const n of nodes) {
          assert.equal(typeof n.id, 'string');
          assert.equal(typeof n.type, 'string');
          assert.notEqual(n.type, 'tab');
          assert.equal(n.z, undefined, `${n.id} has a z`);
        }
      });

      it('has a Comment node that says what it does', () => {
        const comments = nodes.filter((n) => n.type === 'comment');
        assert.ok(comments.length >= 1);
        assert.ok(comments.some((c) => c.name.length > 10 && (c.info ?? '').length > 50));
      });

      it('uses only core nodes and ours', () => {
        for (const n of nodes) {
          assert.ok(
            (OUR_TYPES as readonly string[]).includes(n.type) || n.type in CORE_MODULES,
            `${n.id}: ${n.type} is neither ours nor a core node`,
          );
        }
      });

      it('wires and config references point at nodes of the example', () => {
        const byId = new Map(nodes.map((n) => [n.id, n]));
        for (const n of nodes) {
          if (CONFIG_TYPES.has(n.type)) {
            assert.equal(n.wires, undefined, `config node ${n.id} has wires`);
            continue;
          }
          assert.ok(Array.isArray(n.wires), `${n.id} has no wires array`);
          for (const port of n.wires!) for (const to of port) assert.ok(byId.has(to), `${n.id} wired to missing ${to}`);
          for (const key of ['chip', 'broker']) {
            if (n[key] === undefined) continue;
            const ref = byId.get(n[key]);
            assert.ok(ref, `${n.id}.${key} points at missing ${n[key]}`);
            assert.equal(ref.type, key === 'chip' ? 'iopi-chip' : 'mqtt-broker');
          }
          if ((OUR_NON_CONFIG_TYPES as string[]).includes(n.type)) assert.ok(n.chip, `${n.id} has no chip`);
        }
      });

      it('drives a real IO Pi Plus: chips 0x20/0x21 on i2c-1, not forced to simulate', () => {
        const chips = nodes.filter((n) => n.type === 'iopi-chip');
        assert.ok(chips.length >= 1);
        for (const c of chips) {
          assert.equal(c.bus, 1);
          assert.ok(c.address === 0x20 || c.address === 0x21, `${c.id} address ${c.address}`);
          assert.equal(c.simulate, false, `${c.id} simulate must be false (npm start / IOPI_SIMULATE=1 simulate)`);
        }
        const addresses = chips.map((c) => c.address);
        assert.equal(new Set(addresses).size, addresses.length, 'two config nodes for one chip');
      });

      it('every MQTT node talks to a broker on localhost:1883 (the user sets theirs)', () => {
        for (const b of nodes.filter((n) => n.type === 'mqtt-broker')) {
          assert.equal(b.broker, 'localhost');
          assert.equal(Number(b.port), 1883);
        }
      });
    });
  }

  it('mqtt-read-ports publishes sensor/iopi/ports every 10 s', () => {
    const nodes = readExample('mqtt-read-ports');
    const out = nodes.filter((n) => n.type === 'mqtt out');
    assert.deepEqual(out.map((n) => n.topic), ['sensor/iopi/ports']);
    const inject = nodes.filter((n) => n.type === 'inject');
    assert.equal(inject.length, 1);
    assert.equal(Number(inject[0].repeat), 10);
  });

  it('mqtt-control subscribes to topic/iopi as text', () => {
    const nodes = readExample('mqtt-control');
    const sub = nodes.filter((n) => n.type === 'mqtt in');
    assert.deepEqual(sub.map((n) => [n.topic, n.datatype]), [['topic/iopi', 'utf8']]);
  });

  it('int-line watches GPIO23 with the INT output set as in tutorial 4 (push-pull, active low, not mirrored)', () => {
    const [chip] = readExample('int-line').filter((n) => n.type === 'iopi-chip');
    assert.equal(chip.interruptMode, 'intline');
    assert.equal(chip.intLine, 'GPIO23');
    assert.deepEqual([chip.mirror, chip.openDrain, chip.activeHigh], [false, false, false]);
  });
});
