/**
 * The per-bus transport (one FIFO per bus, lazy open, close after the last user) and the
 * classification of I2C errors in both of i2c-bus's shapes.
 */
import assert from 'node:assert/strict';
import { I2cError, Transport, classifyI2cError, toI2cError, type Backend, type I2cBus } from '../lib';
import * as sim from '../lib/simulator';

/** A fake bus whose calls complete when the test says so, to observe queueing. */
function gatedBackend() {
  const started: string[] = [];
  const gates: (() => void)[] = [];
  let opens = 0;
  let closes = 0;
  let counter = 0;
  const call = <T>(name: string, value: T) => new Promise<T>((resolve) => {
    started.push(name);
    gates.push(() => resolve(value));
  });
  const backend: Backend = {
    name: `gated-${Math.random()}`,
    open: async () => {
      opens++;
      const bus: I2cBus = {
        readByte: (a, r) => call(`readByte ${a}:${r}`, ++counter),
        writeByte: (a, r, b) => call(`writeByte ${a}:${r}=${b}`, undefined),
        readWord: (a, r) => call(`readWord ${a}:${r}`, 0),
        writeWord: (a, r) => call(`writeWord ${a}:${r}`, undefined),
        readI2cBlock: (a, r, l, buf) => call(`readI2cBlock ${a}:${r}`, { bytesRead: l, buffer: buf }),
        writeI2cBlock: (a, r, l, buf) => call(`writeI2cBlock ${a}:${r}`, { bytesWritten: l, buffer: buf }),
        i2cRead: (a, l, buf) => call(`i2cRead ${a}`, { bytesRead: l, buffer: buf }),
        i2cWrite: (a, l, buf) => call(`i2cWrite ${a}`, { bytesWritten: l, buffer: buf }),
        close: async () => {
          closes++;
        },
      };
      return bus;
    },
  };
  return {
    backend, started,
    get opens() { return opens; },
    get closes() { return closes; },
    release: () => gates.shift()?.(),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('lib: Transport', () => {
  afterEach(() => assert.equal(Transport.openCount(), 0, 'every transport released'));

  it('runs transactions of every chip one at a time, in call order', async () => {
    const g = gatedBackend();
    const t = Transport.acquire(1, g.backend);
    const results = [t.readByte(0x20, 1), t.writeByte(0x21, 2, 3), t.readByte(0x20, 4)];
    await tick();
    assert.deepEqual(g.started, ['readByte 32:1'], 'only the first has started');
    g.release();
    await tick();
    await tick();
    assert.deepEqual(g.started, ['readByte 32:1', 'writeByte 33:2=3']);
    g.release();
    await tick();
    await tick();
    g.release();
    assert.deepEqual(await Promise.all(results), [1, undefined, 2]);
    assert.equal(t.stats.transactions, 3);
    await t.release();
  });

  it('one transport per backend and bus, opened lazily once, closed after the last release', async () => {
    const g = gatedBackend();
    const a = Transport.acquire(1, g.backend);
    const b = Transport.acquire(1, g.backend);
    const c = Transport.acquire(2, g.backend);
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.equal(g.opens, 0, 'nothing opened before the first transaction');
    const read = a.readByte(0x20, 0);
    await tick();
    g.release();
    await read;
    assert.equal(g.opens, 1);
    await a.release();
    assert.equal(g.closes, 0, 'b still uses bus 1');
    const queued = b.readByte(0x20, 0);
    const closing = b.release();
    await tick();
    assert.equal(g.closes, 0, 'queued work finishes before the bus closes');
    g.release();
    await queued;
    await closing;
    assert.equal(g.closes, 1);
    await c.release();
    assert.equal(g.closes, 1, 'bus 2 was never opened, so never closed');
    await assert.rejects(a.readByte(0x20, 0), /closed/);
  });

  it('wraps failures with bus, address and what was being done', async () => {
    sim.reset();
    const t = Transport.acquire(3, sim.simulatorBackend);
    await assert.rejects(t.readByte(0x27, 0x12), (err: unknown) => {
      assert.ok(err instanceof I2cError);
      assert.equal(err.kind, 'absent');
      assert.equal(err.bus, 3);
      assert.equal(err.address, 0x27);
      assert.equal(err.message, 'no device at 0x27 on /dev/i2c-3 (Remote I/O error)');
      return true;
    });
    assert.equal(t.stats.errors, 1);
    await t.release();
  });
});

describe('lib: I2C error classification', () => {
  const cases: [string, unknown, string, string][] = [
    ['i2c-bus SMBus NACK (errno 121, empty code)', Object.assign(new Error(', Remote I/O error'), { errno: 121, code: '' }), 'absent', 'no device at 0x20 on /dev/i2c-1 (Remote I/O error)'],
    ['i2c-bus i2cRead NACK (EREMOTEIO, -121)', Object.assign(new Error('EREMOTEIO: remote I/O error, read'), { errno: -121, code: 'EREMOTEIO', syscall: 'read' }), 'absent', 'no device at 0x20 on /dev/i2c-1 (Remote I/O error)'],
    ['ENXIO', Object.assign(new Error('ENXIO'), { errno: 6, code: 'ENXIO' }), 'absent', 'no device at 0x20 on /dev/i2c-1 (Remote I/O error)'],
    ['no bus (ENOENT -2)', Object.assign(new Error("ENOENT: no such file or directory, open '/dev/i2c-1'"), { errno: -2, code: 'ENOENT' }), 'no-bus', 'no I2C bus /dev/i2c-1 (enable I2C, e.g. with raspi-config)'],
    ['EIO', Object.assign(new Error('EIO, Input/output error'), { errno: 5, code: 'EIO' }), 'io', 'I2C I/O error at 0x20 on /dev/i2c-1 while reading GPIOA'],
    ['ETIMEDOUT', Object.assign(new Error('ETIMEDOUT'), { errno: 110, code: 'ETIMEDOUT' }), 'timeout', 'I2C timeout at 0x20 on /dev/i2c-1 while reading GPIOA'],
    ['EACCES', Object.assign(new Error('EACCES'), { errno: -13, code: 'EACCES' }), 'permission', 'permission denied on /dev/i2c-1 (add the user to the i2c group)'],
    ['anything else', new Error('Invalid I2C address 128'), 'unknown', 'I2C error at 0x20 on /dev/i2c-1 while reading GPIOA: Invalid I2C address 128'],
  ];
  for (const [name, err, kind, message] of cases) {
    it(`${name} → ${kind}`, () => {
      assert.equal(classifyI2cError(err), kind);
      const wrapped = toI2cError(err, 1, 0x20, 'reading GPIOA');
      assert.equal(wrapped.kind, kind);
      assert.equal(wrapped.message, message);
      assert.equal(wrapped.cause, err);
      assert.equal(toI2cError(wrapped, 2, 0x21), wrapped, 'kept as it is');
    });
  }

  it("the simulator's NACKs classify like the real addon's", async () => {
    sim.reset();
    const bus = await sim.openPromisified(1);
    const smbus = await bus.readByte(0x22, 0).catch((e: unknown) => e);
    const raw = await bus.i2cRead(0x22, 1, Buffer.alloc(1)).catch((e: unknown) => e);
    assert.equal(classifyI2cError(smbus), 'absent');
    assert.equal(classifyI2cError(raw), 'absent');
    await bus.close();
  });
});
