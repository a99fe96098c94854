/**
 * An independent model of iopi-out's topic rule (README "iopi-out", the node's help), written
 * differently from nodes/out-message.ts so the tests do not just repeat the code, and the tables of
 * topics the tests send: addresses, near misses (case, signs, exponents, hex, whitespace, empty
 * segments, huge numbers, unicode digits and letters) and topics that are no address at all.
 */

export type ModelAddress = { kind: 'pin' | 'port' | 'bus'; mask: number };

/**
 * What a topic means: an address, 'error' (it looks like one but is not exact), or 'none' (no
 * address at all: the node's own target).
 */
export function modelTopic(topic: string): ModelAddress | 'error' | 'none' {
  // Exact forms: the keyword in any letter case, decimal digits, nothing else in the last segments.
  let m = /(?:^|\/)(pin|port)\/([0-9]+)$/i.exec(topic);
  if (m) {
    const n = parseInt(m[2], 10);
    if (m[1].toLowerCase() === 'pin' && n >= 1 && n <= 16) return { kind: 'pin', mask: 2 ** (n - 1) };
    if (m[1].toLowerCase() === 'port' && n <= 1) return { kind: 'port', mask: n === 0 ? 0x00ff : 0xff00 };
  }
  if (/(?:^|\/)bus$/i.test(topic)) return { kind: 'bus', mask: 0xffff };
  // Read as a person would: compatibility forms folded, spaces and invisible characters dropped,
  // runs of "/" as one, no "/" at either end, lower case.
  const read = topic.normalize('NFKC').replace(/[\s\u00ad\u200b-\u200f\u2060-\u2064\ufeff\u061c\u180e]/gu, '')
    .replace(/\p{Cf}/gu, '').toLowerCase().replace(/\/+/g, '/').replace(/^\/|\/$/g, '');
  m = /(?:^|\/)(bus|pin|port)$/.exec(read) ?? /(?:^|\/)(pin|port)\/[^/]*$/.exec(read);
  return m ? 'error' : 'none';
}

/** Topics that are exact addresses. */
export const ADDRESS_TOPICS = [
  'pin/1', 'pin/3', 'pin/8', 'pin/9', 'pin/16', 'PIN/3', 'Pin/16', 'pIn/2', 'pin/03', 'pin/016', 'port/0', 'port/1', 'PORT/1',
  'Port/0', 'port/00', 'bus', 'BUS', 'Bus', 'iopi/1/0x20/pin/3', 'iopi/1/0x20/port/0', 'iopi/1/0x20/bus', 'relay/pin/4',
  '/pin/2', 'a//pin/2', ' x /pin/2', 'house/door/bus', '/bus', 'a/b/c/d/e/f/port/1',
];

/** Topics that are no address at all: the node's own target. */
export const NO_ADDRESS_TOPICS = [
  '', ' ', 'house/door/1', 'sensor/temp', 'topic/iopi', 'something else', 'pin3', 'pins/3', 'pin-3', 'pin:3', 'pin.3',
  'bus/stop', 'busy', 'omnibus', 'pinball/3', 'spin/3', 'report/1', 'ports/1', 'house/pin/3/state', 'pin/3/x',
  'x'.repeat(5000), '/', '//', 'a/b', '3', '١', 'iopi/1/0x20', 'relay/4/on',
];

/** Topics that look like an address but are not exact: errors. */
export const NEAR_MISS_TOPICS = [
  // out of range
  'pin/0', 'pin/17', 'pin/99', 'pin/00', 'port/2', 'port/9', 'PIN/0', 'relay/pin/99', 'iopi/1/0x20/pin/17', 'iopi/1/0x20/port/2',
  // signs, exponents, fractions, hex, other bases, words
  'pin/-1', 'pin/+1', 'pin/-0', 'pin/1e1', 'pin/1E1', 'pin/1e0', 'pin/1.0', 'pin/1.', 'pin/.1', 'pin/0x1', 'pin/0X0F',
  'pin/0b1', 'pin/0o7', 'port/1e0', 'port/+1', 'port/0x1', 'pin/NaN', 'pin/Infinity', 'pin/one', 'pin/1,2', 'pin/1-4',
  'pin/1 2', 'pin/_1',
  // whitespace, empty and extra segments
  'pin/ 3', 'pin/3 ', ' pin/3', 'pin /3', 'p in/3', 'pin/\t3', 'pin/3\n', 'pin\u00a0/3', 'bus ', ' bus', 'x/ bus', 'b us',
  'pin/', 'pin//3', 'pin/3/', 'pin/3//', 'port/', 'port//1', 'bus/', 'bus//', '/pin/', 'pin', 'port', 'PIN', 'relay/pin',
  'relay/port', 'x//pin//3',
  // huge numbers
  'pin/99999999999999999999', 'pin/1' + '0'.repeat(400), 'port/18446744073709551617', 'pin/4294967297',
  // unicode digits and letters, invisible characters
  'pin/١', 'pin/３', 'pin/¹', 'pin/①', 'port/٠', 'pin/\u0663', 'ｐｉｎ/3', 'ＰＯＲＴ/1', 'ｂｕｓ', 'pin/\u200b3', 'pin\u200b/3',
  '\u200bbus', 'bus\ufeff', 'pin/3\u200d',
];
