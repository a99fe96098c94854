/**
 * iopi-out's message parser (nodes/out-message.ts) and settings (nodes/out-settings.ts) alone, no
 * Node-RED: the one address parser (msg.pin, msg.port, msg.topic) against an independent model of
 * the topic rule, over tables of addresses, near misses and non-addresses and their cross product;
 * precedence, the node's own pins, payloads and msg.pulse into commands.
 */
import assert from 'node:assert/strict';
import { MessageError } from '../nodes/common';
import { TOPIC_FORMS, messageAddress, parseCommand, topicAddress, type OutScope } from '../nodes/out-message';
import { initialOutputs, outSettings } from '../nodes/out-settings';
import { ADDRESS_TOPICS, NEAR_MISS_TOPICS, NO_ADDRESS_TOPICS, modelTopic } from './helpers/address-model';

const scope = (over: Partial<OutScope> = {}): OutScope => ({
  target: 'bus', mask: 0xffff, port: 0, mode: 'set', pulse: 1000, msgTarget: true, ...over,
});
const PINS_1_8 = scope({ target: 'pins', mask: 0x00ff });

/** What topicAddress says, in the model's terms. */
function classify(topic: string): ReturnType<typeof modelTopic> {
  try {
    const a = topicAddress(topic);
    return a ? { kind: a.kind as 'pin' | 'port' | 'bus', mask: a.mask } : 'none';
  } catch (err) {
    assert.ok(err instanceof MessageError, `${JSON.stringify(topic)}: a MessageError`);
    assert.equal(err.message.startsWith(`msg.topic must be ${TOPIC_FORMS} (got `), true, err.message);
    return 'error';
  }
}

describe('iopi-out message parser (nodes/out-message.ts)', () => {
  describe('topics: the rule', () => {
    it('the tables are what they say (checked against the model)', () => {
      for (const t of ADDRESS_TOPICS) assert.equal(typeof modelTopic(t), 'object', `${JSON.stringify(t)} is an address`);
      for (const t of NO_ADDRESS_TOPICS) assert.equal(modelTopic(t), 'none', `${JSON.stringify(t)} is no address`);
      for (const t of NEAR_MISS_TOPICS) assert.equal(modelTopic(t), 'error', `${JSON.stringify(t)} is a near miss`);
    });

    it('addresses: pin/1..pin/16, port/0, port/1, bus, in any letter case, alone or after a path', () => {
      for (const t of ADDRESS_TOPICS) assert.deepEqual(classify(t), modelTopic(t), JSON.stringify(t));
      assert.deepEqual(topicAddress('iopi/1/0x20/pin/3'), { kind: 'pin', mask: 0x0004 });
      assert.deepEqual(topicAddress('iopi/1/0x21/port/1'), { kind: 'port', port: 1, mask: 0xff00 });
      assert.deepEqual(topicAddress('iopi/1/0x20/bus'), { kind: 'bus', mask: 0xffff });
      assert.deepEqual(topicAddress('PIN/16'), { kind: 'pin', mask: 0x8000 });
    });

    it('topics that are no address keep the node\'s own target', () => {
      for (const t of NO_ADDRESS_TOPICS) assert.equal(topicAddress(t), undefined, JSON.stringify(t));
    });

    it('near misses are errors naming the allowed forms (pin/17, pin/0, port/2, relay/pin/99, pin/1e1 among them)', () => {
      for (const t of NEAR_MISS_TOPICS) assert.equal(classify(t), 'error', JSON.stringify(t));
      assert.throws(() => topicAddress('pin/17'), {
        message: 'msg.topic must be "pin/1" to "pin/16", "port/0", "port/1" or "bus" (letters in any case), alone or at the end of a path such as "iopi/1/0x20/pin/3" (got "pin/17")',
      });
    });

    it('the cross product of keywords, numbers, prefixes and endings agrees with the model', () => {
      const keywords = ['pin', 'PIN', 'Pin', 'port', 'PORT', 'bus', 'Bus', 'pins', 'ports', 'relay', ' pin', 'pin ', 'ｐｉｎ', 'pi\u200bn', ''];
      const numbers = ['0', '1', '2', '3', '8', '9', '15', '16', '17', '01', '001', '-1', '+1', '1e1', '1.0', '0x1', ' 1', '1 ', '',
        '١', '３', '1,2', '99999999999999999999', 'bus', 'x'];
      const prefixes = ['', '/', 'relay/', 'iopi/1/0x20/', 'a//', 'pin/', 'bus/'];
      const endings = ['', '/', '//', '/x', '/bus', ' '];
      let count = 0;
      const seen = { address: 0, none: 0, error: 0 };
      for (const k of keywords) for (const n of numbers) for (const p of prefixes) for (const e of endings) {
        for (const topic of [`${p}${k}/${n}${e}`, `${p}${k}${e}`, `${p}${n}${e}`]) {
          const want = modelTopic(topic);
          assert.deepEqual(classify(topic), want, JSON.stringify(topic));
          seen[typeof want === 'object' ? 'address' : want]++;
          count++;
        }
      }
      assert.ok(count > 15000, `${count} topics`);
      for (const [k, v] of Object.entries(seen)) assert.ok(v > 500, `${v} topics of kind ${k}`);
    });

    it('a topic that is not a string is no address', () => {
      for (const topic of [3, null, true, ['pin', '3'], { pin: 3 }]) assert.equal(messageAddress({ topic }, scope()), undefined);
    });
  });

  describe('messageAddress: msg.pin, msg.port, msg.topic', () => {
    it('msg.pin: a pin or a list, as numbers or text', () => {
      assert.deepEqual(messageAddress({ pin: 3 }, scope()), { kind: 'pin', mask: 0x0004 });
      assert.deepEqual(messageAddress({ pin: '16' }, scope()), { kind: 'pin', mask: 0x8000 });
      assert.deepEqual(messageAddress({ pin: [1, 9] }, scope()), { kind: 'pins', mask: 0x0101 });
      assert.deepEqual(messageAddress({ pin: ' 2 , 3' }, scope()), { kind: 'pins', mask: 0x0006 });
      for (const pin of [0, 17, -1, 1.5, '1e1', '+3', '0x3', '３', '', [], [1, 1], null, true, {}]) {
        assert.throws(() => messageAddress({ pin }, scope()), /^MessageError: msg\.pin must be a pin from 1 to 16, or a list of them .*\(got /, JSON.stringify(pin));
      }
    });

    it('msg.port: 0 or 1 as a number or decimal text, for port and bus nodes', () => {
      assert.deepEqual(messageAddress({ port: 1 }, scope()), { kind: 'port', port: 1, mask: 0xff00 });
      assert.deepEqual(messageAddress({ port: ' 0 ' }, scope()), { kind: 'port', port: 0, mask: 0x00ff });
      assert.deepEqual(messageAddress({ port: '01' }, scope()), { kind: 'port', port: 1, mask: 0xff00 });
      for (const port of [2, -1, 0.5, '0x1', '1e0', '+1', '', 'one', null, [1], true]) {
        assert.throws(() => messageAddress({ port }, scope()), /^MessageError: msg\.port must be 0 or 1 \(got /, JSON.stringify(port));
      }
    });

    it('msg.port is not read by pin nodes (UDP and TCP messages carry a msg.port of their own)', () => {
      assert.equal(messageAddress({ port: 54321 }, PINS_1_8), undefined);
      assert.equal(messageAddress({ port: 1, topic: 'sensor/temp' }, PINS_1_8), undefined);
    });

    it('msg.pin wins over msg.port, which wins over msg.topic', () => {
      assert.deepEqual(messageAddress({ pin: 2, port: 1, topic: 'pin/5' }, scope()), { kind: 'pin', mask: 0x0002 });
      assert.deepEqual(messageAddress({ port: 1, topic: 'pin/5' }, scope()), { kind: 'port', port: 1, mask: 0xff00 });
      assert.deepEqual(messageAddress({ pin: 2, topic: 'pin/99' }, scope()), { kind: 'pin', mask: 0x0002 }, 'the topic is not read');
      assert.throws(() => messageAddress({ pin: 17, topic: 'pin/2' }, scope()), /msg\.pin/, 'an invalid msg.pin is an error, the topic no fallback');
    });

    it('msgTarget off: the message names no target, whatever it holds', () => {
      assert.equal(messageAddress({ pin: 17, port: 2, topic: 'pin/99' }, scope({ msgTarget: false })), undefined);
    });

    it('a target outside the node\'s pins is an error naming them', () => {
      assert.throws(() => messageAddress({ topic: 'pin/9' }, PINS_1_8), /^MessageError: msg\.topic must be within this node's pins \(1, 2, 3, 4, 5, 6, 7, 8\) \(got "pin\/9"\); .*untick/);
      assert.throws(() => messageAddress({ pin: [2, 9] }, PINS_1_8), /msg\.pin must be within this node's pins/);
      assert.throws(() => messageAddress({ port: 1 }, scope({ target: 'port', mask: 0x00ff })), /msg\.port must be within this node's pins/);
      assert.throws(() => messageAddress({ topic: 'bus' }, PINS_1_8), /msg\.topic must be within/);
      assert.deepEqual(messageAddress({ topic: 'port/0' }, PINS_1_8), { kind: 'port', port: 0, mask: 0x00ff }, 'all of its pins: a port');
    });
  });

  describe('parseCommand', () => {
    it('pins 1-8, set mode: topic pin/17 (and its relatives), which once switched all 8, is no command at all', () => {
      for (const topic of ['pin/17', 'pin/0', 'port/2', 'PIN/ 3', 'relay/pin/99', 'pin/1e1']) {
        assert.throws(() => parseCommand({ topic, payload: true }, PINS_1_8), /^MessageError: msg\.topic must be/, topic);
      }
      assert.deepEqual(parseCommand({ topic: 'PIN/3', payload: true }, PINS_1_8), { kind: 'pin', mask: 0x0004, value: 0x0004, pulseMs: 1000 });
      assert.deepEqual(parseCommand({ topic: 'house/door/1', payload: true }, PINS_1_8), { kind: 'pins', mask: 0x00ff, port: undefined, value: 0x00ff, pulseMs: 1000 });
    });

    it('payloads: on/off forms for pins, numbers for a port (placed on its byte) and the bus, toggle', () => {
      const pin = scope({ target: 'pin', mask: 0x0010 });
      for (const on of [true, 1, '1', 'on', 'ON', 'On', 'true', 'high']) assert.equal(parseCommand({ payload: on }, pin).value, 0x0010, String(on));
      for (const off of [false, 0, '0', 'off', 'OFF', 'Off', 'false', 'low']) assert.equal(parseCommand({ payload: off }, pin).value, 0, String(off));
      assert.equal(parseCommand({ payload: 'toggle' }, pin).value, 'toggle');
      const port1 = scope({ target: 'port', port: 1, mask: 0xff00 });
      assert.deepEqual(parseCommand({ payload: '0x5a' }, port1), { kind: 'port', port: 1, mask: 0xff00, value: 0x5a00, pulseMs: 1000 });
      assert.equal(parseCommand({ payload: 65535 }, scope()).value, 0xffff);
      assert.throws(() => parseCommand({ payload: 256 }, port1), /msg\.payload must be an integer from 0 to 255/);
      assert.throws(() => parseCommand({ payload: 'maybe' }, pin), /msg\.payload must be true\/false/);
      assert.throws(() => parseCommand({}, pin), /msg\.payload .*\(got undefined\)/);
    });

    it('modes: toggle ignores the payload; pulse takes a level, not "toggle"; msg.pulse sets the length', () => {
      const toggle = scope({ target: 'pin', mask: 0x0001, mode: 'toggle' });
      assert.equal(parseCommand({ payload: 'anything' }, toggle).value, 'toggle');
      const pulse = scope({ target: 'pin', mask: 0x0001, mode: 'pulse', pulse: 250 });
      assert.equal(parseCommand({ payload: true }, pulse).pulseMs, 250);
      assert.equal(parseCommand({ payload: true, pulse: '60' }, pulse).pulseMs, 60);
      assert.throws(() => parseCommand({ payload: 'toggle' }, pulse), /msg\.payload must be the pulse level/);
      for (const p of [0, 86_400_001, 1.5, 'abc', null]) assert.throws(() => parseCommand({ payload: true, pulse: p }, pulse), /msg\.pulse must be an integer number of ms from 1 to 86400000/);
    });

    it('prototype keys are never read as message properties', () => {
      const msg = JSON.parse('{"__proto__": {"pin": 17, "topic": "pin/99"}, "payload": true}');
      assert.deepEqual(parseCommand(msg, PINS_1_8).mask, 0x00ff);
    });
  });
});

describe('iopi-out settings (nodes/out-settings.ts)', () => {
  it('defaults for a node without settings; the initial value as a masked write', () => {
    const s = outSettings({ pins: [1] });
    assert.deepEqual({ ...s }, { target: 'pin', pins: [1], port: 0, mask: 0x0001, initial: undefined, mode: 'set', pulse: 1000, passthrough: false, msgTarget: true, latest: false });
    assert.equal(initialOutputs(s), undefined);
    assert.equal(initialOutputs(outSettings({ target: 'pins', pins: [2, 3], initial: '1' })), 0x0006);
    assert.equal(initialOutputs(outSettings({ target: 'port', port: '1', initial: '0xA5' })), 0xa500);
    assert.equal(initialOutputs(outSettings({ target: 'bus', initial: 4660 })), 0x1234);
  });

  it('Bursts: every state by default (also for flows from before the option), latest value only when chosen', () => {
    assert.equal(outSettings({ pins: [1] }).latest, false, 'no burst property: an old flow');
    assert.equal(outSettings({ pins: [1], burst: '' }).latest, false);
    assert.equal(outSettings({ pins: [1], burst: 'every' }).latest, false);
    assert.equal(outSettings({ pins: [1], burst: 'latest' }).latest, true);
    for (const burst of ['Latest', 'all', true, 1, null, {}]) {
      assert.throws(() => outSettings({ pins: [1], burst }), /^ArgumentError: burst must be one of "every", "latest"/, JSON.stringify(burst));
    }
  });

  it('bad settings throw naming the setting', () => {
    assert.throws(() => outSettings({ target: 'pins', pins: [] }), /pins/);
    assert.throws(() => outSettings({ target: 'pin', pins: [1], initial: '2' }), /initial must be/);
    assert.throws(() => outSettings({ target: 'port', port: 2 }), /port must be/);
    assert.throws(() => outSettings({ pins: [1], mode: 'blink' }), /mode must be/);
    assert.throws(() => outSettings({ pins: [1], pulse: 0 }), /pulse must be/);
  });
});
