import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SinkReport, SinkRequest } from './sink-process.js';

export interface SinkProcess {
  port: number;
  /** Messages the sink has accepted so far. */
  count(): Promise<number>;
  /** When each message arrived, by Message-ID; empty unless started with `recordArrivals`. */
  arrivals(): Promise<Map<string, number>>;
  /** Ends the sink process and waits for it to exit. */
  stop(): Promise<void>;
}

const STOP_GRACE = 5 * 1000; // ms; after this the child is killed rather than waited for

/**
 * Forks the compiled `sink-process.js` next to this file and resolves once it listens.
 * `recordArrivals` makes the sink note each message's arrival time by Message-ID (latency runs);
 * `hosts` runs one sink per address, all on the same port (direct MX runs).
 */
export async function startSinkProcess(options: { recordArrivals?: boolean; hosts?: string[] } = {}): Promise<SinkProcess> {
  const entry = fileURLToPath(new URL('./sink-process.js', import.meta.url));
  const args = [...(options.recordArrivals ? ['arrivals'] : []), ...(options.hosts ? [`hosts=${options.hosts.join(',')}`] : [])];
  const child = fork(entry, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  // IPC keeps order, so answers can be matched to questions first in, first out.
  const counting: Array<(count: number) => void> = [];
  const listing: Array<(arrivals: [string, number][]) => void> = [];
  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null): void =>
      reject(new Error(`sink process exited with code ${code} before it was ready`));
    child.once('exit', onExit);
    child.once('error', reject);
    child.on('message', (msg: SinkReport) => {
      if (msg.type === 'ready') {
        child.off('exit', onExit);
        child.off('error', reject);
        resolve(msg.port);
      } else if (msg.type === 'count') {
        counting.shift()?.(msg.count);
      } else if (msg.type === 'arrivals') {
        listing.shift()?.(msg.arrivals);
      }
    });
  });

  return {
    port,
    count(): Promise<number> {
      if (!child.connected) return Promise.reject(new Error('sink process is not running'));
      return new Promise<number>((resolve) => {
        counting.push(resolve);
        child.send({ type: 'count' } satisfies SinkRequest);
      });
    },
    arrivals(): Promise<Map<string, number>> {
      if (!child.connected) return Promise.reject(new Error('sink process is not running'));
      return new Promise((resolve) => {
        listing.push((list) => resolve(new Map(list)));
        child.send({ type: 'arrivals' } satisfies SinkRequest);
      });
    },
    async stop(): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE);
      if (child.connected) child.disconnect();
      else child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}
