/**
 * The i2c-dev ABI of the LD_PRELOAD shim, seen from C (test/fixtures/virtual-shim-client.c, built
 * with the kernel's own <linux/i2c-dev.h> and _FORTIFY_SOURCE): every open variant, the ioctl checks
 * i2c-dev makes, each SMBus size split as the kernel's i2c_smbus_xfer_emulated() does (including PEC
 * and block counts), plain read/write, I2C_RDWR limits and I2C_M_RECV_LEN, NACKs, threads sharing an
 * fd, and fds that stop being I2C devices (close, syscall(SYS_close), dup2).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startVirtualI2c, type VirtualI2c } from '../lib/virtual';
import { projectRoot } from './helpers/red';
import { requireOrSkip, runWith, shimMissing, type Missing } from './virtual-support';

function compilerMissing(): Missing {
  if (spawnSync('cc', ['--version'], { stdio: 'ignore' }).status !== 0) return 'no C compiler (cc) to build the C client';
  return fs.existsSync('/usr/include/linux/i2c-dev.h') ? undefined : 'kernel headers missing (/usr/include/linux/i2c-dev.h; Debian: linux-libc-dev)';
}

/** What a real i2c-dev on a Pi-like adapter answers, check by check (see the C source for each). */
const EXPECTED: Record<string, string> = {
  'open': '0', 'openat': '0', 'openat.cloexec': '1', 'open64': '0', 'openat64': '0',
  'open.nobus': 'ENOENT', 'open.leadingzero': 'ENOENT',
  'funcs.r': '0', 'funcs': '0x0fff8009',
  'slave.0x80': 'EINVAL', 'slave.0x20': '0', 'slave_force.0x21': '0', 'unknown_ioctl': 'ENOTTY',
  'smbus.badsize': 'EINVAL', 'smbus.nulldata': 'EINVAL',
  'quick': '0', 'write_byte_data': '0', 'read_byte_data': '0',
  'write_word_data': '0', 'read_word_data': String(0x1234),
  'send_byte': '0', 'receive_byte': String(0x12),
  'proc_call': String(0xff00), 'proc_call.olat': String(0xbeef),
  'block_write': '0', 'block_write.olat': String(0xaa01),
  'block_read': '3', 'block_read.data': 'ff 11 22', 'block_read.bad_count': 'EPROTO',
  'i2c_block_read': '4', 'i2c_block_read.data': 'ff ff 11 22',
  'i2c_block_broken': '32', 'i2c_block_broken.wrap': 'ffff ffff',
  'i2c_block_write': '0', 'i2c_block_write.defval': String(0xa55a), 'i2c_block_write.too_long': 'EINVAL',
  'pec.on': '0', 'pec.read': 'EBADMSG',
  'write': '3', 'write.pointer': '1', 'read': '2', 'read.data': '01 02',
  'pwrite': '1', 'pread': '2', 'pread.data': '01 02',
  'write.8193': '8192', 'read.8193': '8192',
  'rdwr.43': 'EINVAL', 'rdwr.42': '42', 'rdwr.0': 'EINVAL', 'rdwr.8193': 'EINVAL',
  'rdwr.mixed': '3', 'rdwr.mixed.data': '00 00', 'rdwr.absent': 'EREMOTEIO',
  'rdwr.recv_len': '2', 'rdwr.recv_len.data': '02 00 00', 'rdwr.recv_len.short': 'EINVAL',
  'slave.0x22': '0', 'absent.read_byte_data': 'EREMOTEIO', 'absent.read': 'EREMOTEIO',
  'absent.write': 'EREMOTEIO', 'absent.quick': 'EREMOTEIO',
  'threads.mismatches': '0', 'threads.errors': '0',
  'close': '0', 'close.reused': '1', 'close.reused.write': '3', 'close.reused.ioctl': 'ENOTTY',
  'syscall_close': '0', 'syscall_close.reused': '1', 'syscall_close.reused.ioctl': 'ENOTTY',
  'dup2.ioctl': 'ENOTTY', 'dup2.read': '0',
};

describe('virtual IO Pi: the i2c-dev ABI from C', function () {
  this.timeout(30000);
  requireOrSkip(shimMissing, compilerMissing);
  let v: VirtualI2c;
  let dir: string;
  let client: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iopi-shim-client-'));
    client = path.join(dir, 'client');
    const source = path.join(projectRoot(), 'test', 'fixtures', 'virtual-shim-client.c');
    const cc = spawnSync('cc', ['-O2', '-D_FORTIFY_SOURCE=2', '-Wall', '-o', client, source, '-lpthread'], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    v = await startVirtualI2c({ buses: { 1: [0x20, 0x21] } });
  });
  after(async () => {
    await v?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the client really calls the fortified and 64-bit entry points', function () {
    const nm = spawnSync('nm', ['-D', client], { encoding: 'utf8' });
    if (nm.status !== 0) this.skip();
    for (const sym of ['__open_2', '__openat_2', '__read_chk', 'open64', 'openat64', 'open', 'ioctl', 'read', 'write', 'pread', 'pwrite', 'close', 'syscall']) {
      assert.match(nm.stdout, new RegExp(`\\bU ${sym}@`), sym);
    }
  });

  it('answers every check as Linux i2c-dev does', async () => {
    const r = await runWith(v.env, client, []);
    assert.equal(r.status, 0, r.stderr);
    const got: Record<string, string> = {};
    for (const line of r.stdout.trim().split('\n')) {
      const at = line.indexOf(' ');
      got[line.slice(0, at)] = line.slice(at + 1);
    }
    delete got.dup2; // the fd number dup2 returns
    assert.deepEqual(got, EXPECTED);
  });

  it('without IOPI_SIM_SOCKET the shim is inert: /dev/i2c-1 goes to libc', async () => {
    const env = { ...v.env, IOPI_SIM_SOCKET: '' };
    const r = await runWith(env, client, []);
    assert.match(r.stdout, /^open ENOENT$/m, 'no /dev/i2c-1 on this machine');
  });

  it('a simulator that stops answering: ETIMEDOUT after IOPI_SIM_TIMEOUT_MS, then EIO (never a hang)', async () => {
    // answers HELLO, then nothing
    const sock = path.join(dir, 'mute.sock');
    const server = net.createServer((s) => {
      let seen = Buffer.alloc(0);
      let answered = false;
      s.on('data', (d: Buffer) => {
        seen = Buffer.concat([seen, d]);
        if (!answered && seen.length >= 9) {
          answered = true;
          s.write(Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]));
        }
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const start = Date.now();
      const r = await runWith({ ...v.env, IOPI_SIM_SOCKET: sock, IOPI_SIM_TIMEOUT_MS: '300' }, client, [], { timeout: 20000 });
      assert.match(r.stdout, /^open 0$/m);
      assert.match(r.stdout, /^funcs 0x0fff8009$/m, 'local ioctls need no simulator');
      assert.match(r.stdout, /^quick ETIMEDOUT$/m, 'the first transfer times out');
      assert.match(r.stdout, /^write_byte_data EIO$/m, 'the connection is then out of step: EIO');
      assert.ok(Date.now() - start < 15000);
    } finally {
      server.close();
    }
  });

  it('a simulator that is gone: ENOENT, never real hardware', async () => {
    const env = { ...v.env, IOPI_SIM_SOCKET: path.join(dir, 'nobody-listens.sock') };
    const r = await runWith(env, client, []);
    assert.match(r.stdout, /^open ENOENT$/m);
  });
});
