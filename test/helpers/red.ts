/**
 * Which Node-RED runtime the tests run against.
 *
 * By default the devDependency (Node-RED 4 on the machine's Node). scripts/test-node22.js sets
 * IOPI_NODE_RED to the directory of a Node-RED 5 package and runs the same compiled tests under Node 22;
 * every test that inits node-red-node-test-helper must do it through {@link initHelper} (or
 * `helper.init(nodeRedPath())`) so that it really exercises that runtime, and must load core nodes
 * through {@link coreNode} so that they come from the same Node-RED.
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * The project root: the directory with package.json named node-red-contrib-iopi. The compiled tests
 * may live outside it (IOPI_OUT=/tmp/x builds there), so packages are resolved from here.
 */
export function projectRoot(): string {
  const candidates = [path.resolve(__dirname, '..', '..', '..'), path.resolve(__dirname, '..', '..'), process.cwd()];
  if (process.env.IOPI_ROOT) candidates.unshift(path.resolve(process.env.IOPI_ROOT));
  for (const dir of candidates) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'node-red-contrib-iopi') return dir;
    } catch {
      /* not here */
    }
  }
  throw new Error(`project root not found from ${__dirname} or ${process.cwd()} (set IOPI_ROOT)`);
}

/** `require` of a package as the project resolves it (works for a compiled tree outside the project). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function requireFromProject(id: string): any {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve(id, { paths: [projectRoot()] }));
}

/** The file node-red-node-test-helper's `init` wants: the Node-RED package's main module. */
export function nodeRedPath(): string {
  const dir = process.env.IOPI_NODE_RED;
  return dir ? require.resolve(path.resolve(dir)) : require.resolve('node-red', { paths: [projectRoot()] });
}

/** The Node-RED package directory in use (the one holding its package.json). */
export function nodeRedDir(): string {
  let dir = path.dirname(nodeRedPath());
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'node-red') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no node-red package.json above ${nodeRedPath()}`);
    dir = up;
  }
}

/** The version of the Node-RED in use, e.g. "4.1.15". */
export function nodeRedVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(nodeRedDir(), 'package.json'), 'utf8')).version;
}

/** A core node module of the Node-RED in use, e.g. `coreNode('common/20-inject.js')`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function coreNode(relative: string): any {
  const nodesPkg = require.resolve('@node-red/nodes/package.json', { paths: [nodeRedDir()] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(path.dirname(nodesPkg), 'core', relative));
}

/** Points a node-red-node-test-helper instance at the Node-RED in use. */
export function initHelper(helper: { init(runtimePath?: string, userSettings?: object): void }): void {
  helper.init(nodeRedPath());
}
