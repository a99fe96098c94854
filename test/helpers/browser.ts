/**
 * Headless Debian chromium driven by playwright-core (never a downloaded browser), for editor tests.
 *
 * `browserUnavailable()` says why the browser tests cannot run here (no /usr/bin/chromium, no
 * playwright-core), or null. Callers skip with that reason, except with CI=true where it is a failure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from './red';

export const CHROMIUM = process.env.IOPI_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Page = any;
export type Browser = any;

export function playwright(): any | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(require.resolve('playwright-core', { paths: [projectRoot()] }));
  } catch {
    return undefined;
  }
}

export function browserUnavailable(): string | null {
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install chromium)`;
  if (!playwright()) return 'playwright-core is not installed (npm install --no-save playwright-core)';
  return null;
}

/** Skips the suite with a visible reason, or fails it under CI=true. */
export function requireBrowser(ctx: Mocha.Context): void {
  const why = browserUnavailable();
  if (!why) return;
  if (process.env.CI === 'true') throw new Error(`browser tests cannot run under CI=true: ${why}`);
  console.log(`      (skipped: ${why})`);
  ctx.skip();
}

export async function launch(): Promise<Browser> {
  return playwright().chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** test-artifacts/ in the project (git-ignored). */
export function artifactsDir(): string {
  const dir = path.join(projectRoot(), 'test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens the editor and waits until it is usable. */
export async function openEditor(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => {
    const w = window as any;
    return w.RED && w.RED.nodes && w.RED.nodes.getType('inject') && w.RED.workspaces.active() && w.$('#red-ui-loading-progress').is(':hidden');
  }, null, { timeout: 30000 });
  await sleep(500);
}

/** Drags a node type from the palette onto the workspace; returns the new node's id. */
export async function dragFromPalette(page: Page, type: string, x: number, y: number): Promise<string> {
  const before: string[] = await page.evaluate(() => { const ids: string[] = []; (window as any).RED.nodes.eachNode((n: any) => ids.push(n.id)); return ids; });
  const el = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
  await el.scrollIntoViewIfNeeded();
  const box = await el.boundingBox();
  if (!box) throw new Error(`${type} is not in the palette`);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(x, y, { steps: 15 });
  await page.mouse.up();
  await sleep(300);
  const id: string | undefined = await page.evaluate((b: string[]) => {
    let found: string | undefined;
    (window as any).RED.nodes.eachNode((n: any) => { if (!b.includes(n.id)) found = n.id; });
    return found;
  }, before);
  if (!id) throw new Error(`dragging ${type} from the palette added no node`);
  return id;
}

/** Opens a node's edit tray by double-clicking it. */
export async function openNode(page: Page, id: string): Promise<void> {
  await waitTrays(page, 0);
  await page.dblclick(`g.red-ui-flow-node-group[id="${id}"] rect.red-ui-flow-node`);
  await waitTrays(page, 1);
  await page.waitForSelector('#node-input-name', { state: 'visible' });
  await sleep(500); // the tray slides in
}

/** Waits until `count` edit trays are open (trays close with an animation). */
export async function waitTrays(page: Page, count: number): Promise<void> {
  await page.waitForFunction((n: number) => (window as any).$('.red-ui-tray').length === n, count, { timeout: 10000 });
}

/** Presses Done in the node's edit tray and waits until it is closed. */
export async function done(page: Page): Promise<void> {
  await page.click('#node-dialog-ok');
  await waitTrays(page, 0);
  await sleep(200);
}

/** Presses Done (Add/Update) in a config node's tray, opened over a node's tray. */
export async function configDone(page: Page): Promise<void> {
  await page.click('#node-config-dialog-ok');
  await waitTrays(page, 1);
  await sleep(300);
}

/** Fills a text input and fires change (what validators listen to). */
export async function fill(page: Page, selector: string, value: string): Promise<void> {
  await page.fill(selector, value);
  await page.locator(selector).dispatchEvent('change');
}

export async function hasError(page: Page, selector: string): Promise<boolean> {
  return page.$eval(selector, (e: Element) => e.classList.contains('input-error'));
}

export async function deploy(page: Page): Promise<void> {
  await page.click('#red-ui-header-button-deploy');
  await page.waitForSelector('.red-ui-notification-success', { timeout: 15000 });
  await page.waitForFunction(() => !(window as any).RED.nodes.dirty(), null, { timeout: 15000 });
}

/** The deployed flows, read back through the admin API (from the page, with its credentials). */
export async function readFlows(page: Page): Promise<any[]> {
  return page.evaluate(async () => {
    const res = await fetch('flows', { headers: { 'Node-RED-API-Version': 'v2' } });
    return (await res.json()).flows;
  });
}
