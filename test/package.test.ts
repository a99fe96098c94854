/**
 * The package as others see it: the names and entry points that are contracts (package.json, the
 * `node-red-contrib-iopi/simulator` export, the node set, the files Node-RED loads beside each node).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

import { projectRoot } from './helpers/red';

const root = projectRoot();
/** Where this build went (dist/ for npm test; IOPI_OUT otherwise). */
const out = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

describe('package', () => {
  it('is node-red-contrib-iopi with the Node-RED metadata the Flow Library checks', () => {
    assert.equal(pkg.name, 'node-red-contrib-iopi');
    assert.ok(pkg.keywords.includes('node-red'));
    assert.equal(pkg.license, 'MIT');
    assert.ok(pkg.repository?.url);
    assert.equal(pkg['node-red'].version, '>=3.1.0');
    assert.equal(pkg.engines.node, '>=18.5');
    assert.deepEqual(Object.keys(pkg.dependencies), ['i2c-bus']);
    assert.deepEqual(Object.keys(pkg['node-red'].nodes).sort(), ['iopi-chip', 'iopi-in', 'iopi-out', 'iopi-setup']);
  });

  it('exports the simulator as node-red-contrib-iopi/simulator (resolved by package name)', () => {
    // Resolved by the package's own name through package.json "exports" (self-reference from inside it).
    const requireInPackage = createRequire(path.join(root, 'package.json'));
    const sim = requireInPackage('node-red-contrib-iopi/simulator');
    for (const fn of ['openPromisified', 'chip', 'remove', 'reset']) assert.equal(typeof sim[fn], 'function', fn);
    const lib = requireInPackage('node-red-contrib-iopi');
    assert.equal(typeof lib.Mcp23017, 'function');
    sim.reset();
    const chip = sim.chip(1, 0x20);
    assert.equal(chip.register(0x00), 0xff);
    assert.equal(sim.chip(1, 0x20), chip, 'the same object on the next call');
    sim.reset();
  });

  it('every node has its .js, .html, catalogue and help where Node-RED looks, and its icon', () => {
    for (const [type, file] of Object.entries(pkg['node-red'].nodes) as [string, string][]) {
      const js = path.join(out, file.replace(/^dist\//, ''));
      const dir = path.dirname(js);
      assert.ok(fs.existsSync(js), js);
      assert.ok(fs.existsSync(path.join(dir, `${type}.html`)), `${type}.html beside ${file}`);
      assert.ok(fs.existsSync(path.join(dir, 'locales', 'en-US', `${type}.json`)), `${type} catalogue`);
      assert.ok(fs.existsSync(path.join(dir, 'locales', 'en-US', `${type}.html`)), `${type} help`);
      const html = fs.readFileSync(path.join(dir, `${type}.html`), 'utf8');
      assert.match(html, new RegExp(`RED\\.nodes\\.registerType\\(\\s*['"]${type}['"]`), 'a literal registerType');
      // The shared editor helpers come from the module's resources/ folder, which Node-RED serves
      // (resources/<module>/...), loaded before the node's own script.
      const src = /<script src="resources\/node-red-contrib-iopi\/([^"]+)"><\/script>/.exec(html);
      assert.ok(src && html.indexOf(src[0]) < html.indexOf('registerType'), `${type}.html loads the editor helpers first`);
      assert.ok(fs.existsSync(path.join(root, 'resources', src[1])), `resources/${src[1]}`);
      assert.ok(pkg.files.includes('resources'), 'resources/ is published');
      if (/category:\s*['"]config['"]/.test(html)) continue; // config nodes have no icon
      const icon = /icon:\s*['"]([^'"]+)['"]/.exec(html)?.[1];
      assert.ok(icon && fs.existsSync(path.join(dir, 'icons', icon)), `${type} icon ${icon} in ${dir}/icons`);
    }
  });
});
