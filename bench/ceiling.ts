import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeBody } from './messages.js';
import { sendRaw } from './raw-smtp-sender.js';
import { startSinkProcess } from './sink-client.js';

const CONNECTIONS = 4; // the same pool size Herald's end-to-end runs are given
const POLL_INTERVAL = 10; // ms
const ARRIVAL_TIMEOUT = 30 * 1000; // ms

/**
 * Raw SMTP throughput into a sink process, with nothing of Herald in the way: the figure Herald's
 * end-to-end results are compared with. Timed from the first connect until the sink has counted
 * every message, the same span an end-to-end run is timed over.
 */
export async function measureCeiling(size: number, messages: number): Promise<{ msgPerSec: number }> {
  const sink = await startSinkProcess();
  try {
    const body = makeBody(size, 0);
    const started = performance.now();
    const { sent } = await sendRaw({ host: '127.0.0.1', port: sink.port, connections: CONNECTIONS, messages, body });
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
    return { msgPerSec: messages / (ms / 1000) };
  } finally {
    await sink.stop();
  }
}
