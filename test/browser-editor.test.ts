/**
 * The editor in a real browser: headless Debian chromium (playwright-core) against a real Node-RED
 * (red.js, 127.0.0.1, free port, IOPI_SIMULATE=1) that loads this package from dist/.
 *
 * For each node: drag from the palette (the config node through its add button), fill every field
 * (pin grids by clicks), see invalid values flagged, Done, Deploy, read the flow back through the
 * admin API. Then the "IO Pi" sidebar (live pins, clicks, pending interrupts) and the Scan button.
 * Screenshots go to test-artifacts/; IOPI_DOCS_IMAGES=1 also refreshes docs/images/.
 *
 * Skipped (with the reason) without /usr/bin/chromium or playwright-core; with CI=true that fails.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  artifactsDir, configDone, dragFromPalette, deploy, done, fill, hasError, launch, openEditor, openNode, readFlows,
  requireBrowser, sleep, waitTrays, type Browser, type Page,
} from './helpers/browser';
import { projectRoot } from './helpers/red';
import { deployFlows, login, startRed, type RedServer } from './helpers/red-server';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;
declare const $: any;

/** Already deployed when the editor opens: two simulated chips (0x20, 0x21 on bus 1) in use. */
const CHIP = { interruptMode: 'poll', pollInterval: 20, intLine: 'GPIO23', mirror: true, openDrain: true, activeHigh: false, simulate: true };
const SEED = [
  { id: 'seedtab', type: 'tab', label: 'Seed' },
  { id: 'c1', type: 'iopi-chip', name: 'bench board', bus: 1, address: 32, ...CHIP },
  { id: 'c2', type: 'iopi-chip', name: 'second board', bus: 1, address: 33, ...CHIP },
  {
    id: 'seedin', type: 'iopi-in', z: 'seedtab', name: 'seed buttons', chip: 'c1', target: 'pins', pins: [1, 2], output: 'pin', edge: 'both',
    debounce: 0, initial: false, pullup: true, invert: true, topic: '', x: 150, y: 60, wires: [[]],
  },
  {
    id: 'seedout', type: 'iopi-out', z: 'seedtab', name: 'seed led', chip: 'c1', target: 'pin', pins: [9], port: 0, mode: 'set', pulse: 1000,
    initial: '', passthrough: false, msgTarget: true, x: 400, y: 60, wires: [[]],
  },
  {
    id: 'seedsetup', type: 'iopi-setup', z: 'seedtab', name: 'seed setup', chip: 'c2', x: 150, y: 120, wires: [[]], applyOnDeploy: true,
    setInt: false, mirror: true, openDrain: true, activeHigh: false,
    pinConfig: Array.from({ length: 16 }, (_, i) => (i === 0
      ? { use: true, dir: 'in', pullup: true, invert: false, int: true, intType: 'change', defval: 0 }
      : { use: false, dir: 'in', pullup: false, invert: false, int: false, intType: 'change', defval: 0 })),
  },
];

describe('editor in a real browser (chromium)', function () {
  this.timeout(60000);
  let server: RedServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const problems: string[] = [];
  const shots = artifactsDir();
  const shot = async (name: string, target?: string) => {
    if (target) await page.locator(target).screenshot({ path: path.join(shots, `${name}.png`) });
    else await page.screenshot({ path: path.join(shots, `${name}.png`) });
  };
  const ids: Record<string, string> = {};

  before(async function () {
    requireBrowser(this);
    server = await startRed();
    await deployFlows(server, SEED);
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1440, height: 960 } });
    page.on('pageerror', (e: Error) => problems.push('pageerror: ' + e.message));
    page.on('console', (m: any) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
    await openEditor(page, server.url);
    const invalid = await page.evaluate(() => { const bad: string[] = []; RED.nodes.eachNode((n: any) => { if (!n.valid) bad.push(n.id); }); RED.nodes.eachConfig((n: any) => { if (n.valid === false) bad.push(n.id); }); return bad; });
    assert.deepEqual(invalid, [], 'the seed flow is valid in the editor');
    // A tab of our own for the new nodes.
    await page.evaluate(() => RED.workspaces.add());
    await sleep(400);
    await page.evaluate(() => { $('.red-ui-palette-search input').val('iopi').trigger('change').trigger('keyup'); });
    await sleep(300);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (process.env.IOPI_DOCS_IMAGES === '1') {
      const docs = path.join(projectRoot(), 'docs', 'images');
      for (const [from, to] of [
        ['chip-form-scan', 'editor-chip-scan'], ['in-form', 'editor-in-form'], ['out-form-conflict', 'editor-out-conflict'],
        ['setup-form', 'editor-setup-form'], ['sidebar', 'editor-sidebar'],
      ]) {
        const file = path.join(shots, `${from}.png`);
        if (fs.existsSync(file)) fs.copyFileSync(file, path.join(docs, `${to}.png`));
      }
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) {
      await shot(`failed-${this.currentTest.title.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}`).catch(() => undefined);
    }
  });

  it('iopi-chip: the config node form, every field, Scan lists 0x20 and 0x21, bad values flagged', async () => {
    ids.in = await dragFromPalette(page, 'iopi-in', 500, 220);
    await openNode(page, ids.in);
    await page.click('#node-input-btn-chip-add');
    await page.waitForSelector('#node-config-input-address', { state: 'visible' });
    await sleep(500);
    await fill(page, '#node-config-input-name', 'test chip');
    await fill(page, '#node-config-input-bus', '300');
    assert.equal(await hasError(page, '#node-config-input-bus'), true, 'bus 300 is flagged');
    await fill(page, '#node-config-input-bus', 'x');
    assert.equal(await hasError(page, '#node-config-input-bus'), true, 'bus x is flagged');
    await fill(page, '#node-config-input-bus', '1');
    assert.equal(await hasError(page, '#node-config-input-bus'), false);

    // Scan (the simulated bus 1 has the seed chips at 0x20 and 0x21)
    await page.check('#node-config-input-simulate');
    await page.click('#iopi-chip-scan');
    await page.waitForSelector('.iopi-chip-scan-address', { timeout: 5000 });
    const found = await page.$$eval('.iopi-chip-scan-address', (els: Element[]) => els.map((e) => [e.getAttribute('data-address'), e.textContent]));
    assert.deepEqual(found, [['32', '0x20'], ['33', '0x21']]);
    await page.click('.iopi-chip-scan-address[data-address="33"]');
    assert.equal(await page.$eval('#node-config-input-address', (e: HTMLSelectElement) => e.value), '33', 'clicking 0x21 fills the address');
    await shot('chip-form-scan', '.red-ui-tray:last-child');
    // A bad bus is refused before any request.
    await fill(page, '#node-config-input-bus', '256');
    await page.click('#iopi-chip-scan');
    await page.waitForSelector('#iopi-chip-scan-result .iopi-error-text');
    await fill(page, '#node-config-input-bus', '1');
    await page.selectOption('#node-config-input-address', '34');

    await page.selectOption('#node-config-input-interruptMode', 'intline');
    await sleep(150);
    assert.equal(await page.isVisible('#node-config-input-intLine'), true, 'INT line field shown in INT-line mode');
    await fill(page, '#node-config-input-intLine', 'GPIO 23!');
    assert.equal(await hasError(page, '#node-config-input-intLine'), true, 'a bad line name is flagged');
    await fill(page, '#node-config-input-intLine', 'GPIO24');
    assert.equal(await hasError(page, '#node-config-input-intLine'), false);
    await fill(page, '#node-config-input-pollInterval', '2');
    assert.equal(await hasError(page, '#node-config-input-pollInterval'), true, 'a 2 ms poll is flagged');
    await fill(page, '#node-config-input-pollInterval', '40');
    await page.uncheck('#node-config-input-mirror');
    await page.uncheck('#node-config-input-openDrain');
    assert.equal(await page.isEnabled('#node-config-input-activeHigh'), true, 'active high is usable with push-pull');
    await page.check('#node-config-input-activeHigh');
    await shot('chip-form');
    await configDone(page);
    ids.chip = await page.evaluate(() => $('#node-input-chip').val());
    assert.ok(ids.chip && ids.chip !== '_ADD_', 'the new chip is selected in the iopi-in form');

    // Address 0x30 (set outside the editor) is shown and flagged.
    const addr48 = await page.evaluate((cid: string) => {
      const c = RED.nodes.node(cid);
      const def = RED.nodes.getType('iopi-chip');
      return [48, '0x30', 31, 32, 39].map((v) => def.defaults.address.validate.call(c, v, {}) === true);
    }, ids.chip);
    assert.deepEqual(addr48, [false, false, false, true, true], 'the address validator refuses 0x30');
  });

  it('iopi-in: pin grid clicks, a pin typed twice is invalid, every field saved', async () => {
    await page.selectOption('#node-input-target', 'pins');
    await fill(page, '#iopi-in-pins-text', '3, 3');
    assert.equal(await hasError(page, '#iopi-in-pins-text'), true, 'pin 3 twice is flagged');
    assert.equal(await page.isVisible('#iopi-in-pins-error'), true, 'with a message');
    await fill(page, '#iopi-in-pins-text', '3, 4');
    assert.equal(await hasError(page, '#iopi-in-pins-text'), false);
    await page.click('#iopi-in-pin-grid .iopi-pin[data-pin="5"]');
    await page.click('#iopi-in-pin-grid .iopi-pin[data-pin="12"]');
    await page.click('#iopi-in-pin-grid .iopi-pin[data-pin="4"]'); // off again
    const selected = await page.$$eval('#iopi-in-pin-grid .iopi-pin.selected', (els: Element[]) => els.map((e) => Number(e.getAttribute('data-pin'))));
    assert.deepEqual(selected, [3, 5, 12]);
    assert.equal(await page.inputValue('#iopi-in-pins-text'), '3, 5, 12');
    await page.selectOption('#node-input-output', 'value');
    await page.selectOption('#node-input-edge', 'falling');
    await fill(page, '#node-input-debounce', '25');
    await page.check('#node-input-initial');
    await page.uncheck('#node-input-pullup');
    await page.uncheck('#node-input-invert');
    await fill(page, '#node-input-topic', 'buttons');
    await fill(page, '#node-input-name', 'test in');
    await shot('in-form');
    await done(page);
    const n = await page.evaluate((id: string) => { const x = RED.nodes.node(id); return { valid: x.valid, pins: x.pins }; }, ids.in);
    assert.deepEqual(n, { valid: true, pins: [3, 5, 12] });
  });

  it('iopi-out: single pin used as an input elsewhere warns, pulse of 0 ms flagged, pins grid, every field', async () => {
    ids.out = await dragFromPalette(page, 'iopi-out', 800, 220);
    await openNode(page, ids.out);
    await page.evaluate(() => $('#node-input-chip').val('c1').trigger('change'));
    await page.selectOption('#node-input-target', 'pin');
    await page.selectOption('#iopi-out-pin', '1');
    await sleep(150);
    assert.equal(await page.isVisible('#iopi-out-conflicts'), true, 'pin 1 is an input of "seed buttons": warned');
    assert.match(await page.textContent('#iopi-out-conflicts'), /seed buttons/);
    await shot('out-form-conflict');
    await page.selectOption('#node-input-target', 'port');
    await page.selectOption('#node-input-port', '1');
    await page.selectOption('#node-input-target', 'pins');
    await page.click('#iopi-out-pin-grid .iopi-pin-none');
    await fill(page, '#iopi-out-pins-text', '10, 10');
    assert.equal(await hasError(page, '#iopi-out-pins-text'), true, 'pin 10 twice is flagged');
    await page.click('#iopi-out-pin-grid .iopi-pin-none');
    await page.click('#iopi-out-pin-grid .iopi-pin[data-pin="10"]');
    await page.click('#iopi-out-pin-grid .iopi-pin[data-pin="11"]');
    assert.equal(await hasError(page, '#iopi-out-pins-text'), false);
    assert.equal(await page.isVisible('#iopi-out-conflicts'), false, 'pins 10, 11 are free');
    await page.selectOption('#node-input-mode', 'pulse');
    await fill(page, '#node-input-pulse', '0');
    assert.equal(await hasError(page, '#node-input-pulse'), true, 'a pulse of 0 ms is flagged');
    await fill(page, '#node-input-pulse', '250');
    assert.equal(await hasError(page, '#node-input-pulse'), false);
    await fill(page, '#node-input-initial', '2');
    assert.equal(await hasError(page, '#node-input-initial'), true, 'initial 2 is flagged for pins');
    await fill(page, '#node-input-initial', '1');
    assert.equal(await page.inputValue('#node-input-burst'), 'every', 'a new node writes every state');
    await page.selectOption('#node-input-burst', 'latest');
    await page.uncheck('#node-input-msgTarget');
    await page.check('#node-input-passthrough');
    await fill(page, '#node-input-name', 'test out');
    await shot('out-form');
    await done(page);
    assert.equal(await page.evaluate((id: string) => RED.nodes.node(id).valid, ids.out), true);
  });

  it('iopi-setup: the pin table, a pin claimed in the other direction warns, every field', async () => {
    ids.setup = await dragFromPalette(page, 'iopi-setup', 500, 360);
    await openNode(page, ids.setup);
    await page.evaluate(() => $('#node-input-chip').val('c1').trigger('change'));
    await page.click('#iopi-setup-tutorial3'); // pins 1-8: inputs, pull-up, inverted, compare interrupt
    const row = (pin: number) => `#iopi-setup-grid tr[data-pin="${pin}"]`;
    await page.check(`${row(9)} .iopi-use`);
    await sleep(100);
    assert.equal(await page.$eval(row(9), (e: Element) => e.classList.contains('iopi-row-conflict')), true, 'pin 9 as input conflicts with "seed led"');
    assert.equal(await page.isVisible('#iopi-setup-conflicts'), true);
    await page.selectOption(`${row(9)} .iopi-dir`, 'out');
    await sleep(100);
    assert.equal(await page.$eval(row(9), (e: Element) => e.classList.contains('iopi-row-conflict')), false, 'as output it does not');
    await page.uncheck(`${row(3)} .iopi-pullup`);
    await page.uncheck(`${row(4)} .iopi-invert`);
    await page.selectOption(`${row(2)} .iopi-defval`, '1');
    await page.uncheck(`${row(6)} .iopi-int`);
    await page.selectOption(`${row(7)} .iopi-inttype`, 'change');
    await page.check(`${row(13)} .iopi-use`);
    await page.check('#node-input-setInt');
    await page.uncheck('#node-input-mirror');
    await page.uncheck('#node-input-openDrain');
    await page.check('#node-input-activeHigh');
    await page.uncheck('#node-input-applyOnDeploy');
    await fill(page, '#node-input-name', 'test setup');
    await shot('setup-form');
    await done(page);
    assert.equal(await page.evaluate((id: string) => RED.nodes.node(id).valid, ids.setup), true);
  });

  it('Deploy, then the flow read back through the admin API has every property', async () => {
    await deploy(page);
    const flows = await readFlows(page);
    const byId = (id: string) => flows.find((n: any) => n.id === id);
    const chip = byId(ids.chip);
    assert.deepEqual(
      { name: chip.name, bus: chip.bus, address: chip.address, interruptMode: chip.interruptMode, pollInterval: chip.pollInterval, intLine: chip.intLine, mirror: chip.mirror, openDrain: chip.openDrain, activeHigh: chip.activeHigh, simulate: chip.simulate },
      { name: 'test chip', bus: 1, address: 34, interruptMode: 'intline', pollInterval: 40, intLine: 'GPIO24', mirror: false, openDrain: false, activeHigh: true, simulate: true },
    );
    const inNode = byId(ids.in);
    assert.deepEqual(
      { chip: inNode.chip, target: inNode.target, pins: inNode.pins, output: inNode.output, edge: inNode.edge, debounce: inNode.debounce, initial: inNode.initial, pullup: inNode.pullup, invert: inNode.invert, topic: inNode.topic, name: inNode.name },
      { chip: ids.chip, target: 'pins', pins: [3, 5, 12], output: 'value', edge: 'falling', debounce: 25, initial: true, pullup: false, invert: false, topic: 'buttons', name: 'test in' },
    );
    const out = byId(ids.out);
    assert.deepEqual(
      { chip: out.chip, target: out.target, pins: out.pins, port: out.port, mode: out.mode, pulse: out.pulse, initial: out.initial, msgTarget: out.msgTarget, passthrough: out.passthrough, burst: out.burst, name: out.name },
      { chip: 'c1', target: 'pins', pins: [10, 11], port: 1, mode: 'pulse', pulse: 250, initial: '1', msgTarget: false, passthrough: true, burst: 'latest', name: 'test out' },
    );
    // The seeded iopi-out is a flow from before the Bursts option: it stays valid, and its form shows the default.
    assert.equal(byId('seedout').burst, undefined, 'the seeded flow has no burst');
    assert.equal(await page.evaluate(() => RED.nodes.node('seedout').valid), true);
    await page.evaluate(() => RED.editor.edit(RED.nodes.node('seedout')));
    await waitTrays(page, 1);
    await page.waitForSelector('#node-input-burst', { state: 'visible' });
    assert.equal(await page.inputValue('#node-input-burst'), 'every', 'an old node\'s form shows "every state"');
    await page.click('#node-dialog-cancel');
    await waitTrays(page, 0);
    const setup = byId(ids.setup);
    const unused = { use: false, dir: 'in', pullup: false, invert: false, int: false, intType: 'change', defval: 0 };
    const tutorial = { use: true, dir: 'in', pullup: true, invert: true, int: true, intType: 'compare', defval: 0 };
    const expected = Array.from({ length: 16 }, (_, i) => (i < 8 ? { ...tutorial } : { ...unused })) as any[];
    expected[1].defval = 1;
    expected[2].pullup = false;
    expected[3].invert = false;
    expected[5].int = false;
    expected[6].intType = 'change';
    expected[8] = { ...unused, use: true, dir: 'out' };
    expected[12] = { ...unused, use: true };
    assert.deepEqual(setup.pinConfig, expected);
    assert.deepEqual(
      { chip: setup.chip, setInt: setup.setInt, mirror: setup.mirror, openDrain: setup.openDrain, activeHigh: setup.activeHigh, applyOnDeploy: setup.applyOnDeploy, name: setup.name },
      { chip: 'c1', setInt: true, mirror: false, openDrain: false, activeHigh: true, applyOnDeploy: false, name: 'test setup' },
    );
    await sleep(800); // let the status settle for the screenshot
    await shot('deployed');
  });

  it('the chip form flags address 0x30 set outside the editor', async () => {
    await page.evaluate((cid: string) => { RED.nodes.node(cid).address = 48; RED.editor.editConfig('', 'iopi-chip', cid); }, ids.chip);
    await page.waitForSelector('#node-config-input-address', { state: 'visible' });
    await sleep(500);
    const shown = await page.evaluate(() => ({ text: $('#node-config-input-address option:selected').text(), error: $('#node-config-input-address').hasClass('input-error') }));
    assert.match(shown.text, /0x30/);
    assert.equal(shown.error, true, '0x30 is flagged');
    await shot('chip-form-0x30');
    await page.click('#node-config-dialog-cancel');
    await waitTrays(page, 0);
    await page.evaluate((cid: string) => { const c = RED.nodes.node(cid); c.address = 34; RED.editor.validateNode(c); }, ids.chip);
  });

  it('the IO Pi sidebar lists the deployed chips with live pins; clicks toggle outputs and press simulated inputs', async () => {
    await page.evaluate(() => RED.sidebar.show('iopi'));
    const chip = (id: string) => `#iopi-sidebar .iopi-live-chip[data-chip-id="${id}"]`;
    const cell = (id: string, pin: number) => `${chip(id)} .iopi-live-pin[data-pin="${pin}"]`;
    await page.waitForSelector(chip('c1'));
    await page.waitForSelector(chip(ids.chip));
    const order = await page.$$eval('#iopi-sidebar .iopi-live-chip', (els: Element[]) => els.map((e) => e.getAttribute('data-address')));
    assert.deepEqual(order, ['32', '33', '34'], 'ordered by address');
    const attr = (id: string, pin: number, name: string) => page.getAttribute(cell(id, pin), name);
    // c1: pins 1, 2 inputs (seed buttons), 9 output (seed led), 10, 11 outputs (test out), 1-8 inputs (test setup)
    await page.waitForFunction((sel: string) => document.querySelector(sel)?.getAttribute('data-direction') === 'out', cell('c1', 10), { timeout: 5000 });
    assert.equal(await attr('c1', 1, 'data-direction'), 'in');
    assert.equal(await attr('c1', 9, 'data-direction'), 'out');
    assert.equal(await attr('c1', 11, 'data-direction'), 'out');

    // Click an output: toggled, seen within a second.
    const level9 = await attr('c1', 9, 'data-level');
    let t0 = Date.now();
    await page.click(cell('c1', 9));
    await page.waitForFunction(([sel, was]: [string, string]) => document.querySelector(sel)?.getAttribute('data-level') !== was, [cell('c1', 9), level9], { timeout: 1000, polling: 'raf' });
    const toggleMs = Date.now() - t0;

    // Click a simulated input: pressed (driven low); with pull-up and inversion it reads 1.
    assert.equal(await attr('c1', 1, 'data-pressed'), 'false');
    t0 = Date.now();
    await page.click(cell('c1', 1));
    await page.waitForFunction((sel: string) => document.querySelector(sel)?.getAttribute('data-pressed') === 'true', cell('c1', 1), { timeout: 1000, polling: 'raf' });
    assert.equal(await attr('c1', 1, 'data-level'), '1');
    await shot('sidebar');
    await page.click(cell('c1', 1));
    await page.waitForFunction((sel: string) => document.querySelector(sel)?.getAttribute('data-pressed') === 'false', cell('c1', 1), { timeout: 1000, polling: 'raf' });

    // A press from elsewhere (the admin API) is pushed to the open sidebar: c2 has no input node, so
    // nothing reads the chip and its interrupt stays pending.
    assert.equal(await attr('c2', 1, 'data-level'), '1', 'c2 pin 1: pull-up, not inverted');
    t0 = Date.now();
    const res = await fetch(`${server!.url}iopi/chips/c2/pins/1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'press' }) });
    assert.equal(res.status, 200);
    await page.waitForFunction((sel: string) => document.querySelector(sel)?.getAttribute('data-level') === '0', cell('c2', 1), { timeout: 1000, polling: 'raf' });
    const pushMs = Date.now() - t0;
    assert.equal(await attr('c2', 1, 'data-pending'), 'true', 'the pending interrupt is shown');
    console.log(`      sidebar: output toggle seen after ${toggleMs} ms, API press pushed after ${pushMs} ms`);
    await shot('sidebar-pending', '#iopi-sidebar');
    assert.deepEqual(problems, [], 'no page errors');
  });
});

describe('editor with adminAuth: a read-only user', function () {
  this.timeout(60000);
  let server: RedServer | undefined;
  let browser: Browser | undefined;

  before(async function () {
    requireBrowser(this);
    server = await startRed({ adminAuth: true });
    await deployFlows(server, SEED, await login(server, 'admin'));
    browser = await launch();
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('sees the sidebar pins but cannot click them', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 960 } });
    await page.goto(server!.url);
    await page.waitForSelector('#node-dialog-login-username', { timeout: 20000 });
    await page.fill('#node-dialog-login-username', 'viewer');
    await page.fill('#node-dialog-login-password', 'viewer-pass');
    await page.click('#node-dialog-login-submit');
    await page.waitForFunction(() => (window as any).RED && RED.workspaces && RED.workspaces.active() && $('#red-ui-loading-progress').is(':hidden'), null, { timeout: 30000 });
    await page.evaluate(() => RED.sidebar.show('iopi'));
    const cell = '#iopi-sidebar .iopi-live-chip[data-chip-id="c1"] .iopi-live-pin[data-pin="9"]';
    await page.waitForSelector(cell);
    assert.equal(await page.isVisible('#iopi-sidebar .iopi-live-readonly'), true, 'read-only note shown');
    assert.equal(await page.isDisabled(cell), true, 'pins are disabled');
    await page.locator('#iopi-sidebar').screenshot({ path: path.join(artifactsDir(), 'sidebar-readonly.png') });
    // And the endpoint refuses the viewer's token.
    const status = await page.evaluate(async () => {
      const tokens = JSON.parse(localStorage.getItem('auth-tokens') || '{}');
      const res = await fetch('iopi/chips/c1/pins/9', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + tokens.access_token }, body: JSON.stringify({ action: 'toggle' }) });
      return res.status;
    });
    assert.equal(status, 401);
    await page.close();
  });
});
