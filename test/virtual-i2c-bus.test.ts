/**
 * The real i2c-bus native addon (the code path that runs on a Pi) against the virtual chips: a child
 * node process with LD_PRELOAD of the shim, async and *Sync calls of every method we use, the error
 * shapes of an absent chip and a missing bus, and many parallel operations on two chips. Every result
 * is cross-checked with the simulator's registers (control socket `dump`).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startVirtualI2c, type VirtualI2c } from '../lib/virtual';
import { projectRoot } from './helpers/red';
import { i2cBusDir, i2cBusMissing, parseDump, requireOrSkip, runWith, shimMissing, tempScript } from './virtual-support';

/** The client: runs one scenario with i2c-bus and prints its results as JSON. */
const CLIENT = `
'use strict';
const i2c = require(process.env.I2C_BUS_DIR);
const scenario = process.argv[2];
const err = (e) => ({ message: e.message, errno: e.errno, code: e.code });
const attempt = async (fn) => { try { await fn(); return null; } catch (e) { return err(e); } };
const attemptSync = (fn) => { try { fn(); return null; } catch (e) { return err(e); } };

const scenarios = {
  async api() {
    const bus = await i2c.openPromisified(1);
    const out = {};
    await bus.writeByte(0x20, 0x00, 0x00);              // IODIRA: outputs
    out.readByte = await bus.readByte(0x20, 0x00);
    await bus.writeByte(0x20, 0x14, 0x5a);              // OLATA
    out.olata = await bus.readByte(0x20, 0x14);
    await bus.writeWord(0x21, 0x14, 0x1234);            // OLATA=34, OLATB=12
    out.readWord = await bus.readWord(0x21, 0x14);
    const w = await bus.writeI2cBlock(0x20, 0x02, 4, Buffer.from([1, 2, 3, 4])); // IPOLA..DEFVALB
    out.blockWritten = w.bytesWritten;
    const r = await bus.readI2cBlock(0x20, 0x00, 8, Buffer.alloc(8));
    out.readI2cBlock = [r.bytesRead, ...r.buffer];
    const r32 = await bus.readI2cBlock(0x20, 0x00, 32, Buffer.alloc(32)); // size 6 (I2C_BLOCK_BROKEN)
    out.readI2cBlock32 = [...r32.buffer];
    const iw = await bus.i2cWrite(0x21, 3, Buffer.from([0x0c, 0xf0, 0x0f])); // GPPUA, GPPUB
    out.i2cWritten = iw.bytesWritten;
    await bus.i2cWrite(0x21, 1, Buffer.from([0x0c]));   // pointer back to GPPUA
    const ir = await bus.i2cRead(0x21, 2, Buffer.alloc(2));
    out.i2cRead = [ir.bytesRead, ...ir.buffer];
    out.scan = await bus.scan();
    out.funcs = (await bus.i2cFuncs()).smbusReadI2cBlock;
    await bus.close();

    const s = i2c.openSync(1);
    s.writeByteSync(0x21, 0x01, 0x00);                  // IODIRB: outputs
    out.readByteSync = s.readByteSync(0x21, 0x01);
    s.writeWordSync(0x20, 0x14, 0xbeef);
    out.readWordSync = s.readWordSync(0x20, 0x14);
    out.writeI2cBlockSync = s.writeI2cBlockSync(0x21, 0x06, 2, Buffer.from([0xaa, 0x55])) === s; // DEFVALA/B; returns the bus
    const sb = Buffer.alloc(4);
    out.readI2cBlockSync = [s.readI2cBlockSync(0x21, 0x04, 4, sb), ...sb];
    out.i2cWriteSync = s.i2cWriteSync(0x20, 2, Buffer.from([0x03, 0x77])); // IPOLB
    s.i2cWriteSync(0x20, 1, Buffer.from([0x03]));
    const sr = Buffer.alloc(1);
    out.i2cReadSync = [s.i2cReadSync(0x20, 1, sr), ...sr];
    s.closeSync();
    return out;
  },

  async errors() {
    const bus = await i2c.openPromisified(1);
    const out = {};
    out.readByte = await attempt(() => bus.readByte(0x22, 0x00));
    out.writeByte = await attempt(() => bus.writeByte(0x22, 0x00, 1));
    out.readWord = await attempt(() => bus.readWord(0x22, 0x00));
    out.readI2cBlock = await attempt(() => bus.readI2cBlock(0x22, 0x00, 2, Buffer.alloc(2)));
    out.i2cRead = await attempt(() => bus.i2cRead(0x22, 1, Buffer.alloc(1)));
    out.i2cWrite = await attempt(() => bus.i2cWrite(0x22, 1, Buffer.from([0])));
    out.deviceId = await attempt(() => bus.deviceId(0x20));
    await bus.close();
    const s = i2c.openSync(1);
    out.readByteSync = attemptSync(() => s.readByteSync(0x22, 0x00));
    out.writeWordSync = attemptSync(() => s.writeWordSync(0x22, 0x00, 1));
    out.i2cReadSync = attemptSync(() => s.i2cReadSync(0x22, 1, Buffer.alloc(1)));
    out.i2cWriteSync = attemptSync(() => s.i2cWriteSync(0x22, 1, Buffer.from([0])));
    s.closeSync();
    const b9 = await i2c.openPromisified(9);
    out.bus9 = await attempt(() => b9.readByte(0x20, 0x00));
    const s9 = i2c.openSync(9);
    out.bus9Sync = attemptSync(() => s9.readByteSync(0x20, 0x00));
    return out;
  },

  async parallel() {
    const bus = await i2c.openPromisified(1);
    const chips = [0x20, 0x21];
    const regs = [0x02, 0x03, 0x06, 0x07, 0x0c, 0x0d, 0x14, 0x15]; // IPOL, DEFVAL, GPPU, OLAT (A/B)
    for (const c of chips) await bus.readByte(c, 0x00); // one fd per address, opened before the storm
    const mismatches = [];
    let ops = 0;
    const expected = new Map();
    for (let round = 0; round < 25; round++) {
      const writes = [];
      for (const c of chips) for (const r of regs) {
        const v = (round * 37 + c * 11 + r * 7) & 0xff;
        expected.set(c + ':' + r, v);
        writes.push(round % 3 === 2 ? bus.writeI2cBlock(c, r, 1, Buffer.from([v])) : bus.writeByte(c, r, v));
      }
      await Promise.all(writes);
      ops += writes.length;
      const reads = [];
      for (const c of chips) for (const r of regs) {
        const want = expected.get(c + ':' + r);
        reads.push(bus.readByte(c, r).then((got) => { if (got !== want) mismatches.push({ c, r, got, want, how: 'byte' }); }));
        if (r % 2 === 0) {
          const hi = expected.get(c + ':' + (r + 1));
          reads.push(bus.readWord(c, r).then((got) => { if (got !== (want | (hi << 8))) mismatches.push({ c, r, got, want, how: 'word' }); }));
          reads.push(bus.readI2cBlock(c, r, 2, Buffer.alloc(2)).then(({ buffer }) => {
            if (buffer[0] !== want || buffer[1] !== hi) mismatches.push({ c, r, got: [...buffer], want, how: 'block' });
          }));
        }
      }
      await Promise.all(reads);
      ops += reads.length;
    }
    await bus.close();
    return { ops, mismatches, expected: Object.fromEntries(expected) };
  },
};

// The editor's Scan button: lib/scan with the real i2c-bus backend (lib/i2c.ts requires 'i2c-bus').
scenarios.arm = async () => {
  const bus = await i2c.openPromisified(1);
  await bus.writeByte(0x20, 0x00, 0xff); // IODIRA: inputs (the api scenario made them outputs)
  await bus.writeByte(0x20, 0x0c, 0x01); // GPPUA: pin 1 pulled up
  await bus.writeByte(0x20, 0x04, 0x01); // GPINTENA: interrupt on change of pin 1
  await bus.readByte(0x20, 0x12);        // GPIOA: nothing pending
  await bus.close();
  return {};
};
scenarios.scan = async () => {
  const { scanBus } = require(process.env.IOPI_LIB_DIR + '/scan');
  const { i2cBusBackend } = require(process.env.IOPI_LIB_DIR + '/i2c');
  const found = await scanBus(i2cBusBackend(), 1);
  let missing;
  try { await scanBus(i2cBusBackend(), 9); } catch (e) { missing = { name: e.name, code: e.code, message: e.message }; }
  return { found, missing };
};

scenarios[scenario]().then(
  (out) => { process.stdout.write(JSON.stringify(out)); process.exit(0); },
  (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); },
);
`;

describe('virtual IO Pi: the real i2c-bus addon', function () {
  this.timeout(30000);
  requireOrSkip(shimMissing, i2cBusMissing);
  let v: VirtualI2c;
  let script: string;

  before(async () => {
    script = tempScript('i2c-bus-client.js', CLIENT);
    v = await startVirtualI2c({ buses: { 1: [0x20, 0x21] } });
  });
  after(async () => {
    await v?.stop();
    if (script) fs.rmSync(path.dirname(script), { recursive: true, force: true });
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function client(scenario: string): Promise<any> {
    const env: Record<string, string> = {
      ...v.env, I2C_BUS_DIR: i2cBusDir(), IOPI_LIB_DIR: path.resolve(__dirname, '..', 'lib'),
      NODE_PATH: [path.join(projectRoot(), 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(path.delimiter),
    };
    const r = await runWith(env, process.execPath, [script, scenario]);
    assert.equal(r.status, 0, `client ${scenario} failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }
  const dump = async (addr: number) => parseDump(await v.control(`dump 1 0x${addr.toString(16)}`));

  it('async and *Sync readByte/writeByte, readWord/writeWord, readI2cBlock/writeI2cBlock, i2cRead/i2cWrite', async () => {
    const out = await client('api');
    assert.equal(out.readByte, 0x00);
    assert.equal(out.olata, 0x5a);
    assert.equal(out.readWord, 0x1234);
    assert.equal(out.blockWritten, 4);
    assert.deepEqual(out.readI2cBlock, [8, 0x00, 0xff, 1, 2, 3, 4, 0, 0]);
    // 32 bytes from 0x00: the 22 registers, then the pointer wraps to 0x00 (SEQOP=0, BANK=0)
    assert.equal(out.readI2cBlock32.length, 32);
    assert.deepEqual(out.readI2cBlock32.slice(22), out.readI2cBlock32.slice(0, 10));
    // the registers at that moment: IODIRA 00 (outputs, so GPIOA reads OLATA 5a), IPOL 01 02, GPINTEN
    // 03 04, port B floating inputs read 0 inverted by IPOLB 02
    assert.deepEqual(out.readI2cBlock32.slice(0, 22), [0x00, 0xff, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x5a, 0x02, 0x5a, 0]);
    assert.equal(out.i2cWritten, 3);
    assert.deepEqual(out.i2cRead, [2, 0xf0, 0x0f]);
    assert.deepEqual(out.scan, [0x20, 0x21]);
    assert.equal(out.funcs, true);
    assert.equal(out.readByteSync, 0x00);
    assert.equal(out.readWordSync, 0xbeef);
    assert.equal(out.writeI2cBlockSync, true);
    assert.deepEqual(out.readI2cBlockSync, [4, 0, 0, 0xaa, 0x55]);
    assert.equal(out.i2cWriteSync, 2);
    assert.deepEqual(out.i2cReadSync, [1, 0x77]);

    const d20 = await dump(0x20);
    const d21 = await dump(0x21);
    assert.deepEqual(d20.slice(0, 8), [0x00, 0xff, 1, 0x77, 3, 4, 0, 0], 'chip 0x20 IODIR, IPOL, GPINTEN, DEFVAL');
    assert.deepEqual([d20[0x14], d20[0x15]], [0xef, 0xbe], 'chip 0x20 OLAT from writeWordSync');
    assert.deepEqual([d21[0x00], d21[0x01]], [0xff, 0x00], 'chip 0x21 IODIR');
    assert.deepEqual([d21[0x06], d21[0x07]], [0xaa, 0x55], 'chip 0x21 DEFVAL');
    assert.deepEqual([d21[0x0c], d21[0x0d]], [0xf0, 0x0f], 'chip 0x21 GPPU');
    assert.deepEqual([d21[0x14], d21[0x15]], [0x34, 0x12], 'chip 0x21 OLAT');
  });

  it('the Scan button\'s scan (lib/scan, real backend) finds 0x20 and 0x21 and leaves their interrupts alone; a missing bus is named', async () => {
    await client('arm');
    await v.control('set 1 0x20 1 0'); // a press: INTFA bit 0 set, INTCAPA captured, INT asserted
    const before20 = await dump(0x20);
    assert.equal(before20[0x0e], 0x01, 'an interrupt is pending before the scan');
    const out = await client('scan');
    assert.deepEqual(out.found, { busNumber: 1, addresses: [0x20, 0x21] });
    assert.deepEqual(await dump(0x20), before20, 'a probe is a side-effect-free read: the interrupt is still pending');
    assert.equal(out.missing?.name, 'ScanError');
    assert.equal(out.missing?.code, 'ENOENT');
    assert.match(out.missing?.message, /no I2C bus \/dev\/i2c-9/);
    await v.control('set 1 0x20 1 float');
    await client('arm'); // reads GPIOA: clears the interrupt again
  });

  it('absent address: errno 121 for SMBus calls, EREMOTEIO for i2cRead/i2cWrite; missing bus: ENOENT', async () => {
    const out = await client('errors');
    for (const name of ['readByte', 'writeByte', 'readWord', 'readI2cBlock', 'readByteSync', 'writeWordSync']) {
      assert.ok(out[name], `${name} failed`);
      assert.equal(Math.abs(out[name].errno), 121, `${name} errno`);
      assert.match(out[name].message, /Remote I\/O error/, name);
    }
    for (const name of ['i2cRead', 'i2cWrite', 'i2cReadSync', 'i2cWriteSync']) {
      assert.ok(out[name], `${name} failed`);
      assert.equal(out[name].code, 'EREMOTEIO', `${name} code`);
      assert.equal(out[name].errno, -121, `${name} errno`);
    }
    assert.equal(Math.abs(out.deviceId.errno), 121, 'deviceId: I2C_RDWR to 0x7C, nobody answers');
    for (const name of ['bus9', 'bus9Sync']) {
      assert.equal(out[name].code, 'ENOENT', name);
      assert.match(out[name].message, /\/dev\/i2c-9/);
    }
  });

  it('many parallel async operations on two chips: no mismatches', async () => {
    const out = await client('parallel');
    assert.deepEqual(out.mismatches, []);
    assert.ok(out.ops >= 1000, `${out.ops} operations`);
    for (const addr of [0x20, 0x21]) {
      const d = await dump(addr);
      for (const reg of [0x02, 0x03, 0x06, 0x07, 0x0c, 0x0d, 0x14, 0x15]) {
        assert.equal(d[reg], out.expected[`${addr}:${reg}`], `chip 0x${addr.toString(16)} register 0x${reg.toString(16)}`);
      }
    }
  });
});
