import { setTimeout as sleep } from 'node:timers/promises';
import { startSinkProcess } from './sink-client.js';
import { startHeraldProcess } from './herald-process.js';
import { postMany } from './http-load.js';

const CONNECTIONS = 4; // SMTP connections, the same as the ceiling's
const HTTP_CONCURRENCY = 64; // requests in flight
const ARRIVAL_TIMEOUT = 120 * 1000; // ms

export interface EndToEndResult {
  /** Messages delivered at the sink per second, from the first request to the last arrival. */
  msgPerSec: number;
  /** 202 answers per second over the accept phase alone. */
  acceptPerSec: number;
}

/** A SendGrid v3 body with one recipient and a text part of about `size` bytes. */
function mailBody(size: number, i: number): Buffer {
  const line = 'Herald end-to-end benchmark body line, seventy-odd characters of text.\n';
  const text = line.repeat(Math.max(1, Math.ceil((size - 400) / line.length))).slice(0, Math.max(64, size - 400));
  return Buffer.from(JSON.stringify({
    personalizations: [{ to: [{ email: `rcpt${i}@bench.example` }] }],
    from: { email: 'bench@herald.example' },
    subject: `bench ${i}`,
    content: [{ type: 'text/plain', value: text }],
  }));
}

/**
 * HTTP accept → delivered at the sink: a Herald process relaying to a sink process, driven over
 * HTTP by this process. Timed until the sink has counted every message.
 */
export async function measureEndToEnd(size: number, messages: number): Promise<EndToEndResult> {
  const sink = await startSinkProcess();
  const herald = await startHeraldProcess({ HERALD_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`, HERALD_SMTP_POOL_SIZE: String(CONNECTIONS) });
  try {
    const started = performance.now();
    const load = await postMany(`${herald.url}/v3/mail/send`, herald.apiKey, (i) => mailBody(size, i), messages, HTTP_CONCURRENCY);
    const deadline = performance.now() + ARRIVAL_TIMEOUT;
    let arrived = await sink.count();
    while (arrived < messages) {
      if (performance.now() > deadline) throw new Error(`end-to-end: ${arrived} of ${messages} messages reached the sink within ${ARRIVAL_TIMEOUT} ms`);
      await sleep(10);
      arrived = await sink.count();
    }
    const ms = performance.now() - started;
    return { msgPerSec: messages / (ms / 1000), acceptPerSec: load.accepted / (load.ms / 1000) };
  } finally {
    await herald.stop();
    await sink.stop();
  }
}
