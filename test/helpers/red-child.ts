/**
 * A Node-RED runtime (node-red-node-test-helper) with our nodes in hardware mode, in a child process
 * (test/virtual-nodes.child.ts) whose environment points the real i2c-bus addon at a virtual bus.
 * The test drives it over IPC.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from './red';

/** The Node-RED child: sends commands over IPC, resolves with their values. */
export class RedChild {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    child.on('message', (msg: any) => {
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.ok) w.resolve(msg.value);
      else w.reject(new Error(msg.error));
    });
    child.on('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`Node-RED child exited (${signal ?? code}): ${this.stderr}`));
      this.waiting.clear();
    });
  }

  static async start(env: Record<string, string>): Promise<RedChild> {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.IOPI_SIMULATE; // hardware mode: the real i2c-bus addon
    // lib/i2c.ts requires 'i2c-bus' from the compiled tree, which may live outside the project (IOPI_OUT)
    childEnv.NODE_PATH = [path.join(projectRoot(), 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
    const child = fork(path.join(__dirname, '..', 'virtual-nodes.child.js'), [], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const red = new RedChild(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Node-RED child did not start: ${red.stderr}`)), 20000);
      child.once('message', (msg: any) => {
        clearTimeout(timer);
        if (msg?.ready) resolve();
        else reject(new Error(`unexpected first message ${JSON.stringify(msg)}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Node-RED child exited at start (${code}): ${red.stderr}`));
      });
    });
    return red;
  }

  call(cmd: string, args: Record<string, unknown> = {}): Promise<any> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, cmd, ...args });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.call('unload').catch(() => undefined);
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const start = Date.now();
  for (;;) {
    const got = await probe();
    if (got !== undefined && got !== false) return got;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

