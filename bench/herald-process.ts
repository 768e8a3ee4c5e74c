import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface HeraldProcess {
  url: string;
  apiKey: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const START_TIMEOUT = 30 * 1000; // ms

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs `herald start` as its own process on a fresh data directory, as a user would, so the
 * load generator does not share its event loop. Resolves with the first API key it prints.
 */
export async function startHeraldProcess(env: Record<string, string>, nodeArgs: string[] = [], options: { expectKey?: boolean; dataDir?: string } = {}): Promise<HeraldProcess> {
  // A process joining an existing store (cluster mode) prints no key: its banner is enough.
  const expectKey = options.expectKey ?? true;
  // A given data directory (a seeded one) is kept; a fresh one is removed at stop.
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const port = await freePort();
  const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [...nodeArgs, main, 'start'], {
    env: { ...process.env, HERALD_PORT: String(port), HERALD_DATA_DIR: dataDir, HERALD_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const apiKey = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`herald did not start within ${START_TIMEOUT} ms:\n${out}`)), START_TIMEOUT);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /HERALD_API_KEY=(SG\.\S+)/.exec(out);
      if ((match || !expectKey) && out.includes('listening')) {
        clearTimeout(timer);
        resolve(match?.[1] ?? '');
      }
    });
    child.once('exit', (code) => reject(new Error(`herald exited with ${code} before starting:\n${out}`)));
  });
  child.stdout!.resume();
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 1000);
        await exited;
        clearTimeout(timer);
      }
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
