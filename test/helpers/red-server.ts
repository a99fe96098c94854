/**
 * A real Node-RED process for editor and admin-API tests: `red.js` of the Node-RED in use, on
 * 127.0.0.1 and a free port, with a temporary user directory whose node_modules/node-red-contrib-iopi
 * is a symlink to the project (Node-RED loads its dist/), IOPI_SIMULATE=1 (every chip simulated),
 * telemetry, tours, projects and palette installs off. Optionally with adminAuth (two users).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { nodeRedDir, projectRoot } from './red';

/** adminAuth users: admin has every permission, viewer only 'read' (which grants '*.read', so iopi.read). */
export const USERS = {
  admin: { password: 'admin-pass', hash: '$2b$08$NnCFVi9NVXoPSjYNeYEgdeNFUCTcrq8ykbLmvWrYG2NP8sF/c32Oa', permissions: '*' },
  viewer: { password: 'viewer-pass', hash: '$2b$08$QPqT0.Oo2hEoimorNI4rxO4ygKtrKBMikxLx70W4AL8R8G6s3aZZG', permissions: 'read' },
} as const;

export interface RedServerOptions {
  adminAuth?: boolean;
  /** Flows to start with (written to flows.json). */
  flows?: object[];
  /** Extra environment variables for the Node-RED process. */
  env?: Record<string, string>;
}

export interface RedServer {
  url: string;
  port: number;
  userDir: string;
  /** Everything the process printed (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startRed(options: RedServerOptions = {}): Promise<RedServer> {
  const root = projectRoot();
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iopi-red-'));
  fs.mkdirSync(path.join(userDir, 'node_modules'));
  fs.symlinkSync(root, path.join(userDir, 'node_modules', 'node-red-contrib-iopi'), 'dir');
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({
    name: 'iopi-test-userdir', version: '0.0.0', private: true, dependencies: { 'node-red-contrib-iopi': '*' },
  }));
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(options.flows ?? []));
  const port = await freePort();
  const users = Object.entries(USERS).map(([username, u]) => ({ username, password: u.hash, permissions: u.permissions }));
  const settings = {
    uiHost: '127.0.0.1',
    uiPort: port,
    userDir,
    flowFile: 'flows.json',
    credentialSecret: 'iopi-test',
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    externalModules: { palette: { allowInstall: false }, modules: { allowInstall: false } },
    editorTheme: { tours: false, projects: { enabled: false } },
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    ...(options.adminAuth ? { adminAuth: { type: 'credentials', users } } : {}),
  };
  const settingsFile = path.join(userDir, 'settings.js');
  fs.writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings, null, 2)};\n`);

  let output = '';
  const child: ChildProcess = spawn(process.execPath, [path.join(nodeRedDir(), 'red.js'), '-u', userDir, '-s', settingsFile], {
    cwd: userDir,
    env: { ...process.env, IOPI_SIMULATE: '1', NODE_RED_ENABLE_PROJECTS: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => { output += String(d); });
  child.stderr!.on('data', (d) => { output += String(d); });
  let exited = false;
  child.on('exit', () => { exited = true; });
  const url = `http://127.0.0.1:${port}/`;

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      for (let i = 0; i < 50 && !exited; i++) await sleep(100);
      if (!exited) child.kill('SIGKILL');
      for (let i = 0; i < 20 && !exited; i++) await sleep(50);
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`Node-RED exited while starting:\n${output}`);
    }
    try {
      const res = await fetch(url);
      if (res.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Node-RED did not start within 30 s:\n${output}`);
    }
    await sleep(150);
  }
  return { url, port, userDir, output: () => output, stop };
}

/** An adminAuth access token for a user (password grant, as the editor's login does). */
export async function login(server: RedServer, username: keyof typeof USERS): Promise<string> {
  const res = await fetch(server.url + 'auth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '', username, password: USERS[username].password }),
  });
  if (res.status !== 200) throw new Error(`login ${username}: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Deploys flows through the admin API (full deploy). */
export async function deployFlows(server: RedServer, flows: object[], token?: string): Promise<void> {
  const res = await fetch(server.url + 'flows', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(flows),
  });
  if (res.status !== 200 && res.status !== 204) throw new Error(`deploy: HTTP ${res.status} ${await res.text()}`);
}
