#!/usr/bin/env node
'use strict';
// Builds the LD_PRELOAD i2c-dev shim of the virtual IO Pi (native/iopi-i2c-shim.c) into
// <out>/native/libiopi-i2c-shim.so, <out> being IOPI_OUT or dist as in scripts/build.js (run it after
// build.js, which empties <out>). Needs Linux with glibc on x86_64/aarch64 and a C compiler (CC, cc,
// gcc or clang); without them it explains and skips: only `iopi-sim` and the virtual-bus tests need
// the shim. A failing compiler is an error under CI=true or with --strict, a warning otherwise.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const out = path.resolve(root, process.env.IOPI_OUT || 'dist');
const source = path.join(root, 'native', 'iopi-i2c-shim.c');
const target = path.join(out, 'native', 'libiopi-i2c-shim.so');
const strict = process.argv.includes('--strict') || process.env.CI === 'true';

function skip(why) {
  console.log(`build-shim: skipped, ${why}. The virtual IO Pi (iopi-sim) will not be available; everything else works.`);
  process.exit(0);
}

if (process.platform !== 'linux') skip(`the shim is for Linux (this is ${process.platform})`);
if (process.arch !== 'x64' && process.arch !== 'arm64') skip(`the shim supports x86_64 and aarch64 (this is ${process.arch})`);
let glibc;
try {
  glibc = process.report.getReport().header.glibcVersionRuntime;
} catch {
  glibc = undefined;
}
if (!glibc) skip('the shim needs glibc (this looks like musl)');

const candidates = [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean);
const compiler = candidates.find((cc) => {
  const r = spawnSync(cc, ['--version'], { stdio: 'ignore', shell: /\s/.test(cc) });
  return r.status === 0;
});
if (!compiler) skip('no C compiler found (install one: sudo apt-get install gcc libc6-dev)');

fs.mkdirSync(path.dirname(target), { recursive: true });
const args = ['-shared', '-fPIC', '-O2', '-Wall', '-o', target, source, '-ldl', '-lpthread'];
const r = spawnSync(compiler, args, { stdio: 'inherit', shell: /\s/.test(compiler) });
if (r.status !== 0) {
  const msg = `build-shim: "${compiler} ${args.join(' ')}" failed (is libc6-dev installed?)`;
  if (strict) {
    console.error(msg);
    process.exit(1);
  }
  console.warn(`${msg}; the virtual IO Pi (iopi-sim) will not be available.`);
  process.exit(0);
}
console.log(`build-shim: built ${target.startsWith(root + path.sep) ? path.relative(root, target) : target}`);
