import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeBody } from './messages.js';
import { sendRaw } from './raw-smtp-sender.js';
import { startSinkProcess } from './sink-client.js';
import { SETTINGS } from '../src/config/settings.js';

/** Herald's default relay pool (`smtpPoolSize`), what its relay runs use. */
export const HERALD_RELAY_CONNECTIONS = SETTINGS.find((s) => s.key === 'smtpPoolSize')!.default as number;
/**
 * Connection counts the raw sender is measured at; the ceiling is the best of them. With Herald's
 * default pool among them, Herald at its defaults is never compared with a sender given fewer
 * connections; which of them the sink takes more from varies from run to run.
 */
export const CEILING_CONNECTIONS = [4, HERALD_RELAY_CONNECTIONS] as const;
/** Herald's relay runs pinned to the raw sender's connections, for a like-for-like figure. */
export const PINNED_CONNECTIONS = CEILING_CONNECTIONS[0];
const POLL_INTERVAL = 10; // ms
const ARRIVAL_TIMEOUT = 30 * 1000; // ms

export interface CeilingResult {
  /** The best of the connection counts. */
  msgPerSec: number;
  /** Each count's figure, in the order of CEILING_CONNECTIONS. */
  byConnections: number[];
}

/**
 * Raw SMTP throughput into a sink process, with nothing of Herald in the way: the figure Herald's
 * end-to-end results are compared with. Measured at each of CEILING_CONNECTIONS (a fresh sink
 * each time) and the best is taken. Each is timed from the first connect until the sink has
 * counted every message, the same span an end-to-end run is timed over.
 */
export async function measureCeiling(size: number, messages: number): Promise<CeilingResult> {
  const byConnections: number[] = [];
  for (const connections of CEILING_CONNECTIONS) byConnections.push(await measureRaw(size, messages, connections));
  return { msgPerSec: Math.max(...byConnections), byConnections };
}

async function measureRaw(size: number, messages: number, connections: number): Promise<number> {
  const sink = await startSinkProcess();
  try {
    const body = makeBody(size, 0);
    const started = performance.now();
    const { sent } = await sendRaw({ host: '127.0.0.1', port: sink.port, connections, messages, body });
    const deadline = performance.now() + ARRIVAL_TIMEOUT;
    let arrived = await sink.count();
    while (arrived < messages) {
      if (performance.now() > deadline) {
        throw new Error(`ceiling: ${arrived} of ${messages} messages reached the sink within ${ARRIVAL_TIMEOUT} ms`);
      }
      await sleep(POLL_INTERVAL);
      arrived = await sink.count();
    }
    const ms = performance.now() - started;
    if (sent !== messages) throw new Error(`ceiling: sent ${sent} of ${messages} messages`);
    return messages / (ms / 1000);
  } finally {
    await sink.stop();
  }
}
