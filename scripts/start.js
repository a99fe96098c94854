#!/usr/bin/env node
'use strict';
// `npm start`: Node-RED (the devDependency) on http://127.0.0.1:1880 with this package installed and
// the buttons-and-leds example deployed. The user directory is .node-red/ inside the project
// (git-ignored) and is reused by the next start. Without /dev/i2c-1 every chip is simulated.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const userDir = path.join(root, '.node-red');
const port = Number(process.env.PORT) || 1880;
const host = process.env.HOST || '127.0.0.1';

if (!fs.existsSync(path.join(root, 'dist', 'nodes', 'iopi-chip.js'))) {
  execFileSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit' });
}

fs.mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
const link = path.join(userDir, 'node_modules', 'node-red-contrib-iopi');
try {
  if (fs.realpathSync(link) !== root) fs.rmSync(link, { recursive: true, force: true });
} catch {
  /* no link yet */
}
if (!fs.existsSync(link)) fs.symlinkSync(root, link, 'dir');

const settingsFile = path.join(userDir, 'settings.js');
if (!fs.existsSync(settingsFile)) {
  fs.writeFileSync(settingsFile, `// Written by npm start; edit freely, it is kept.
module.exports = {
    uiHost: process.env.HOST || "127.0.0.1",
    uiPort: Number(process.env.PORT) || 1880,
    flowFile: "flows.json",
    credentialSecret: false,
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false },
    externalModules: { palette: { allowInstall: false } },
    editorTheme: { tours: false, projects: { enabled: false } },
    logging: { console: { level: "info", metrics: false, audit: false } }
};
`);
}

const flowFile = path.join(userDir, 'flows.json');
if (!fs.existsSync(flowFile)) {
  // An example is a list of nodes for Import; a flow file needs them on a tab.
  const example = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'buttons-and-leds.json'), 'utf8'));
  const tab = { id: 'iopi0example0tab', type: 'tab', label: 'Buttons and LEDs', disabled: false, info: '' };
  const configTypes = new Set(['iopi-chip']);
  const nodes = example.map((n) => (configTypes.has(n.type) || n.type === 'tab' ? n : { ...n, z: tab.id }));
  fs.writeFileSync(flowFile, JSON.stringify([tab, ...nodes], null, 2));
}

const env = { ...process.env };
const hardware = fs.existsSync('/dev/i2c-1');
if (!hardware && env.IOPI_SIMULATE === undefined) env.IOPI_SIMULATE = '1';
console.log(`node-red-contrib-iopi: ${env.IOPI_SIMULATE === '1' ? 'no /dev/i2c-1, every chip is simulated' : 'using the I2C hardware'}`);
console.log(`node-red-contrib-iopi: user directory ${userDir}`);
console.log(`node-red-contrib-iopi: open http://${host}:${port}/ (Ctrl-C stops)`);

const red = require.resolve('node-red/red.js', { paths: [root] });
const child = spawn(process.execPath, [red, '--userDir', userDir, '--settings', settingsFile, '--port', String(port)], {
  stdio: 'inherit',
  env,
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
