/**
 * Entry point of the server process started by startVirtualI2c (./index.ts): argv[2] is
 * `{layout, socketPath, controlPath}` as JSON. Answers `{type: 'ready'}` (or `{type: 'error'}`) over
 * IPC, stops on `{type: 'stop'}`, SIGTERM, SIGINT, or when the parent goes away.
 */
import fs from 'node:fs';
import path from 'node:path';
import { VirtualI2cServer, type BusLayout } from './server';

interface Config {
  layout: BusLayout;
  socketPath: string;
  controlPath: string;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as Config;
  let server: VirtualI2cServer;
  try {
    server = new VirtualI2cServer(config.layout);
    await server.listen(config.socketPath, config.controlPath);
  } catch (err) {
    process.send?.({ type: 'error', error: (err as Error).message });
    process.exit(1);
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void server.close().finally(() => {
      // the private socket directory too, if the parent (which made it) did not get to it: only if empty
      for (const dir of new Set([path.dirname(config.socketPath), path.dirname(config.controlPath)])) {
        try {
          fs.rmdirSync(dir);
        } catch {
          /* not empty or already gone */
        }
      }
      process.exit(0);
    });
  };
  process.on('message', (msg: { type?: string }) => {
    if (msg?.type === 'stop') stop();
  });
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.send?.({ type: 'ready' });
}

void main();
