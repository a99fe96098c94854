#!/usr/bin/env node
'use strict';
// Builds the package: TypeScript (type-check + emit) into dist/, then copies what Node-RED loads from
// beside each node's .js: the editor .html, locales/ and icons/ (a root icons/ is not served).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// IOPI_OUT builds somewhere else (parallel work in one checkout); the package itself loads dist/.
const dist = path.resolve(root, process.env.IOPI_OUT || 'dist');

fs.rmSync(dist, { recursive: true, force: true });
const tsc = path.join(path.dirname(require.resolve('typescript/package.json', { paths: [root] })), 'bin', 'tsc');
let failed = false;
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json'), '--outDir', dist], { stdio: 'inherit', cwd: root });
} catch {
  failed = true; // tsc has printed the errors; copy the assets anyway, then fail
}

const copy = (from, to) => {
  if (!fs.existsSync(from)) return;
  fs.cpSync(from, to, { recursive: true, filter: (src) => !src.endsWith('.ts') });
};
const nodesOut = path.join(dist, 'nodes');
fs.mkdirSync(nodesOut, { recursive: true });
for (const file of fs.readdirSync(path.join(root, 'nodes'))) {
  if (file.endsWith('.html')) fs.copyFileSync(path.join(root, 'nodes', file), path.join(nodesOut, file));
}
copy(path.join(root, 'nodes', 'locales'), path.join(nodesOut, 'locales'));
copy(path.join(root, 'icons'), path.join(nodesOut, 'icons'));

if (failed) {
  console.error('build: TypeScript reported errors (see above)');
  process.exit(1);
}
