/**
 * The virtual IO Pi seen by programs we did not write: Debian's i2c-tools and Python smbus through
 * the LD_PRELOAD shim, checked against the simulator's own registers (control socket `dump`). Also
 * the control socket, `iopi-sim run` (defaults, bus groups, exit status, signals, explanations) and
 * the bin/iopi-sim launcher.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startVirtualI2c, type VirtualI2c } from '../lib/virtual';
import {
  CLI, i2cToolsMissing, iopiSim, parseDump, pythonSmbusMissing, requireOrSkip, run, runWith, shimMissing,
  smbusPython, tempScript,
} from './virtual-support';
import { projectRoot } from './helpers/red';

const IODIRA = 0x00;
const GPPUA = 0x0c;
const OLATA = 0x14;
const OLATB = 0x15;

describe('virtual IO Pi: i2c-tools', function () {
  this.timeout(30000);
  requireOrSkip(shimMissing, i2cToolsMissing);
  let v: VirtualI2c;
  const tool = (name: string, ...args: string[]) => runWith(v.env, name, args);
  const dump = async (addr = '0x20') => parseDump(await v.control(`dump 1 ${addr}`));

  before(async () => {
    v = await startVirtualI2c({ buses: { 1: [0x20, 0x21] } });
  });
  after(async () => v?.stop());

  it('i2cdetect -y 1 lists 20 and 21 only', async () => {
    const r = await tool('i2cdetect', '-y', '1');
    assert.equal(r.status, 0, r.stderr);
    const found = [...r.stdout.matchAll(/^([0-7]0):((?: +(?:[0-9a-f]{2}|--|UU))+)/gm)].flatMap((m) => {
      const row = parseInt(m[1], 16);
      const cells = m[2].trim().split(/ +/);
      const first = row === 0 ? 3 : row; // row 00 starts at 03
      return cells.map((c, i) => (c === '--' ? undefined : { addr: first + i, text: c })).filter((x) => x !== undefined);
    });
    assert.deepEqual(found, [{ addr: 0x20, text: '20' }, { addr: 0x21, text: '21' }], r.stdout);
  });

  it('i2cdetect -F reports an adapter with I2C and emulated SMBus', async () => {
    const r = await tool('i2cdetect', '-F', '1');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /I2C\s+yes/);
    assert.match(r.stdout, /SMBus Read Byte\s+yes/);
    assert.match(r.stdout, /I2C Block Read\s+yes/);
  });

  it('i2cset writes what the simulator shows; i2cget reads it back', async () => {
    let r = await tool('i2cset', '-y', '1', '0x20', '0x00', '0x00');
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await dump())[IODIRA], 0x00, 'IODIRA 00');
    r = await tool('i2cset', '-y', '1', '0x20', '0x14', '0x55');
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await dump())[OLATA], 0x55, 'OLATA 55');
    r = await tool('i2cget', '-y', '1', '0x20', '0x14');
    assert.equal(r.stdout.trim(), '0x55');
    // word write (low byte first) to OLATA/OLATB on the other chip
    r = await tool('i2cset', '-y', '1', '0x21', '0x14', '0xbeef', 'w');
    assert.equal(r.status, 0, r.stderr);
    const d21 = await dump('0x21');
    assert.deepEqual([d21[OLATA], d21[OLATB]], [0xef, 0xbe]);
    r = await tool('i2cget', '-y', '1', '0x21', '0x14', 'w');
    assert.equal(r.stdout.trim(), '0xbeef');
    assert.equal((await dump())[OLATA], 0x55, 'chip 0x20 untouched');
  });

  it('an input driven through the control socket shows in i2cget and i2ctransfer', async () => {
    assert.equal((await tool('i2cset', '-y', '1', '0x20', '0x00', '0xff')).status, 0); // port A inputs
    assert.equal((await tool('i2cset', '-y', '1', '0x20', String(GPPUA), '0xff')).status, 0); // pull-ups
    let r = await tool('i2cget', '-y', '1', '0x20', '0x12');
    assert.equal(r.stdout.trim(), '0xff', 'pulled up');
    assert.equal(await v.control('set 1 0x20 3 0'), 'ok');
    r = await tool('i2cget', '-y', '1', '0x20', '0x12');
    assert.equal(r.stdout.trim(), '0xfb', 'pin 3 pressed');
    r = await tool('i2ctransfer', '-y', '1', 'w1@0x20', '0x12', 'r2');
    assert.equal(r.status, 0, r.stderr);
    const d = await dump();
    assert.equal(r.stdout.trim(), `0x${d[0x12].toString(16).padStart(2, '0')} 0x${d[0x13].toString(16).padStart(2, '0')}`);
    assert.match(r.stdout.trim(), /^0xfb 0x[0-9a-f]{2}$/);
    assert.equal(await v.control('set 1 0x20 3 float'), 'ok');
    r = await tool('i2cget', '-y', '1', '0x20', '0x12');
    assert.equal(r.stdout.trim(), '0xff', 'released');
  });

  it('i2cdump shows the same 22 registers as the simulator, and the rest of the map reads 0', async () => {
    await tool('i2cset', '-y', '1', '0x20', '0x02', '0xa5'); // IPOLA
    const r = await tool('i2cdump', '-y', '1', '0x20', 'b');
    assert.equal(r.status, 0, r.stderr);
    const bytes: number[] = [];
    for (const m of r.stdout.matchAll(/^[0-9a-f]0: ((?:[0-9a-fX]{2} ){16})/gm)) bytes.push(...m[1].trim().split(' ').map((h) => parseInt(h, 16)));
    assert.equal(bytes.length, 256);
    const d = await dump();
    // GPIO reads have side effects only on interrupts (none armed), so the dump's view must match
    assert.deepEqual(bytes.slice(0, 22), d);
    assert.ok(bytes.slice(22).every((b) => b === 0), 'unimplemented addresses read 0');
    assert.equal(d[0x02], 0xa5);
  });

  it('i2ctransfer: a sequential write and a combined write-read', async () => {
    let r = await tool('i2ctransfer', '-y', '1', 'w3@0x21', '0x14', '0x12', '0x34');
    assert.equal(r.status, 0, r.stderr);
    const d = await dump('0x21');
    assert.deepEqual([d[OLATA], d[OLATB]], [0x12, 0x34]);
    r = await tool('i2ctransfer', '-y', '1', 'w1@0x21', '0x14', 'r2@0x21');
    assert.equal(r.stdout.trim(), '0x12 0x34');
  });

  it('an absent address (0x22) fails like on a Pi', async () => {
    let r = await tool('i2cget', '-y', '1', '0x22', '0x00');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Error: Read failed/);
    r = await tool('i2cset', '-y', '1', '0x22', '0x00', '0x00');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Error: Write failed/);
    r = await tool('i2ctransfer', '-y', '1', 'w1@0x22', '0x00', 'r1');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Remote I\/O error/);
  });

  it('a bus that is not configured does not exist', async () => {
    const r = await tool('i2cget', '-y', '9', '0x20', '0x00');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Could not open file .*\/dev\/i2c-9.*No such file or directory/);
  });
});

describe('virtual IO Pi: Python smbus', function () {
  this.timeout(30000);
  requireOrSkip(shimMissing, pythonSmbusMissing);
  let v: VirtualI2c;
  before(async () => {
    v = await startVirtualI2c();
  });
  after(async () => v?.stop());

  it('reads and writes bytes, words and blocks; an absent chip raises errno 121', async () => {
    const script = tempScript('smbus_test.py', `
import json, smbus
b = smbus.SMBus(1)
out = {}
b.write_byte_data(0x20, 0x00, 0x0f)
out['iodira'] = b.read_byte_data(0x20, 0x00)
b.write_word_data(0x21, 0x14, 0xa55a)
out['olat21'] = b.read_word_data(0x21, 0x14)
b.write_i2c_block_data(0x20, 0x02, [1, 2, 3])
out['block'] = b.read_i2c_block_data(0x20, 0x00, 6)
b.write_byte(0x20, 0x14)
out['receive'] = b.read_byte(0x20)
try:
    b.read_byte_data(0x22, 0x00)
    out['absent'] = None
except OSError as e:
    out['absent'] = e.errno
print(json.dumps(out))
`);
    try {
      const r = await runWith(v.env, smbusPython()!, [script]);
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.iodira, 0x0f);
      assert.equal(out.olat21, 0xa55a);
      assert.deepEqual(out.block, [0x0f, 0xff, 1, 2, 3, 0]);
      assert.equal(out.receive, 0, 'receive byte reads at the pointer set by the send byte (OLATA)');
      assert.equal(out.absent, 121);
      const d20 = parseDump(await v.control('dump 1 0x20'));
      const d21 = parseDump(await v.control('dump 1 0x21'));
      assert.deepEqual(d20.slice(0, 5), [0x0f, 0xff, 1, 2, 3]);
      assert.deepEqual([d21[0x14], d21[0x15]], [0x5a, 0xa5]);
    } finally {
      fs.rmSync(path.dirname(script), { recursive: true, force: true });
    }
  });
});

describe('virtual IO Pi: control socket', function () {
  this.timeout(30000);
  requireOrSkip(shimMissing);
  let v: VirtualI2c;
  before(async () => {
    v = await startVirtualI2c({ buses: { 1: [0x20, 0x21], 3: [0x27] } });
  });
  after(async () => v?.stop());

  it('dump gives the 22 power-on registers; int the INT levels', async () => {
    const d = parseDump(await v.control('dump 1 0x20'));
    assert.deepEqual(d, [0xff, 0xff, ...new Array(20).fill(0)]);
    assert.match(await v.control('dump 1 0x20'), /^([0-9a-f]{2} ){21}[0-9a-f]{2}$/);
    assert.equal(await v.control('int 1 0x20'), '1 1', 'push-pull active-low, idle high');
    assert.equal(await v.control('dump 3 39'), await v.control('dump 3 0x27'), 'decimal addresses');
  });

  it('set drives and releases pins; dump has no side effects', async () => {
    assert.equal(await v.control('set 1 0x21 16 1'), 'ok');
    let d = parseDump(await v.control('dump 1 0x21'));
    assert.equal(d[0x13], 0x80, 'GPIOB bit 7');
    assert.equal(await v.control('set 1 0x21 16 float'), 'ok');
    d = parseDump(await v.control('dump 1 0x21'));
    assert.equal(d[0x13], 0x00);
    assert.equal(await v.control('SET 1 0x21 1 0'), 'ok', 'verbs are case-insensitive');
  });

  it('add and remove plug chips in and out', async () => {
    assert.equal(await v.control('add 1 0x22'), 'ok');
    assert.match(await v.control('dump 1 0x22'), /^ff ff 00/);
    assert.match(await v.control('add 1 0x22'), /^error .*already/);
    assert.equal(await v.control('remove 1 0x22'), 'ok');
    assert.match(await v.control('dump 1 0x22'), /^error no chip at 0x22 on bus 1$/);
    assert.match(await v.control('remove 1 0x22'), /^error no chip/);
  });

  it('answers error <reason> to anything else', async () => {
    const cases: [string, RegExp][] = [
      ['bogus', /^error unknown command "bogus"/],
      ['', /^error empty command$/],
      ['set 1 0x20 17 0', /^error bad pin "17"/],
      ['set 1 0x20 0 0', /^error bad pin "0"/],
      ['set 1 0x20 3 2', /^error bad level "2"/],
      ['set 1 0x20 3', /^error usage: set BUS ADDR PIN 0\|1\|float$/],
      ['set 1 0x23 3 0', /^error no chip at 0x23 on bus 1$/],
      ['dump 2 0x20', /^error no chip at 0x20 on bus 2$/],
      ['dump 1 0x50', /^error address 0x50 is not an MCP23017 address/],
      ['dump 1 zz', /^error bad address "zz"/],
      ['int x 0x20', /^error bad bus number "x"/],
      ['dump 1 0x20 extra', /^error usage: dump BUS ADDR$/],
    ];
    for (const [cmd, want] of cases) assert.match(await v.control(cmd), want, JSON.stringify(cmd));
  });

  it('serves several commands on one connection, one answer line each', async () => {
    const answers = await new Promise<string[]>((resolve, reject) => {
      const s = net.connect(v.env.IOPI_SIM_CONTROL);
      let text = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        text += d;
        const lines = text.split('\n');
        if (lines.length > 3) {
          s.end();
          resolve(lines.slice(0, 3));
        }
      });
      s.on('error', reject);
      s.write('int 1 0x20\r\nnope\ndump 3 0x27\n');
    });
    assert.equal(answers[0], '1 1');
    assert.match(answers[1], /^error /);
    assert.match(answers[2], /^ff ff/);
  });
});

describe('iopi-sim run', function () {
  this.timeout(30000);
  requireOrSkip(shimMissing);

  /** A node one-liner run under iopi-sim that prints control answers. */
  const controlScript = (commands: string[]) => `
const net = require('node:net');
const s = net.connect(process.env.IOPI_SIM_CONTROL);
let t = '';
s.setEncoding('utf8');
s.on('data', (d) => { t += d; if (t.split('\\n').length > ${commands.length}) { s.end(); console.log(t.trim()); } });
s.write(${JSON.stringify(commands.map((c) => c + '\n').join(''))});
`;

  it('default: bus 1 with 0x20 and 0x21, IOPI_SIM_CONTROL set', async () => {
    const r = await iopiSim(['run', '--', process.execPath, '-e', controlScript(['dump 1 0x20', 'dump 1 0x21', 'dump 1 0x22', 'dump 0 0x20'])]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^ff ff 00/);
    assert.match(lines[1], /^ff ff 00/);
    assert.match(lines[2], /^error no chip at 0x22/);
    assert.match(lines[3], /^error no chip at 0x20 on bus 0/);
  });

  it('several --bus groups with their own --address lists', async () => {
    const r = await iopiSim(['run', '--bus', '3', '--address', '0x27', '--bus', '0', '--address=0x20,0x24', '--', process.execPath, '-e',
      controlScript(['dump 3 0x27', 'dump 0 0x20', 'dump 0 36', 'dump 1 0x20'])]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^ff ff/);
    assert.match(lines[1], /^ff ff/);
    assert.match(lines[2], /^ff ff/);
    assert.match(lines[3], /^error no chip at 0x20 on bus 1/);
  });

  it('exits with COMMAND\'s status; 127 when COMMAND does not exist', async () => {
    let r = await iopiSim(['run', '--', 'sh', '-c', 'exit 3']);
    assert.equal(r.status, 3);
    r = await iopiSim(['run', '--', process.execPath, '-e', 'process.exit(42)']);
    assert.equal(r.status, 42);
    r = await iopiSim(['run', '--', 'true']);
    assert.equal(r.status, 0);
    r = await iopiSim(['run', '--', '/nonexistent/program']);
    assert.equal(r.status, 127);
    assert.match(r.stderr, /command not found/);
    r = await iopiSim(['run', '--', 'sh', '-c', 'kill -KILL $$']);
    assert.equal(r.status, 128 + 9, 'killed by a signal: 128 + its number');
  });

  it('passes SIGTERM and SIGINT on to COMMAND', async () => {
    for (const [signal, code] of [['SIGTERM', 7], ['SIGINT', 8]] as const) {
      const child = spawn(process.execPath, [CLI, 'run', '--', process.execPath, '-e',
        `process.on('${signal}', () => { console.log('got ${signal}'); process.exit(${code}); }); setInterval(() => {}, 1000); console.log('ready');`],
      { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('ready') && !out.includes('sent')) {
          out += 'sent';
          child.kill(signal);
        }
      });
      const status = await new Promise<number | null>((resolve) => child.on('close', (s) => resolve(s)));
      assert.equal(status, code, out);
      assert.match(out, new RegExp(`got ${signal}`));
    }
  });

  it('explains usage errors and a missing shim', async () => {
    let r = await iopiSim(['run', '--address', '0x50', '--', 'true']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not an MCP23017 address/);
    r = await iopiSim(['run', '--frobnicate', '--', 'true']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown option --frobnicate/);
    r = await iopiSim(['run']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no COMMAND/);
    r = await iopiSim(['help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: iopi-sim run/);
    r = await iopiSim(['run', '--', 'true'], { env: { ...process.env, IOPI_SIM_SHIM: '/nonexistent/libiopi-i2c-shim.so' } });
    assert.equal(r.status, 125);
    assert.match(r.stderr, /iopi-sim: cannot run: the i2c-dev shim is not built \(\/nonexistent\/libiopi-i2c-shim.so is missing\).*C compiler.*apt-get install gcc/);
  });

  it('bin/iopi-sim launches the compiled CLI from dist/', async () => {
    const source = path.join(projectRoot(), 'bin', 'iopi-sim');
    assert.ok(fs.existsSync(source), 'bin/iopi-sim exists');
    assert.match(fs.readFileSync(source, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    // a package layout: <pkg>/bin/iopi-sim next to <pkg>/dist = the tree these tests were compiled into
    const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'iopi-sim-pkg-'));
    try {
      fs.mkdirSync(path.join(pkg, 'bin'));
      fs.copyFileSync(source, path.join(pkg, 'bin', 'iopi-sim'));
      fs.chmodSync(path.join(pkg, 'bin', 'iopi-sim'), 0o755);
      fs.symlinkSync(path.resolve(__dirname, '..'), path.join(pkg, 'dist'));
      const r = await run(path.join(pkg, 'bin', 'iopi-sim'), ['run', '--', 'sh', '-c', 'test -n "$IOPI_SIM_CONTROL" && exit 5']);
      assert.equal(r.status, 5, r.stderr);
    } finally {
      fs.rmSync(pkg, { recursive: true, force: true });
    }
  });
});
