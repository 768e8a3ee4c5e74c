import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { clockMs } from './clock.js';

export interface LoadResult {
  /** Requests answered 202. */
  accepted: number;
  /** ms from the first request until the last 202. */
  ms: number;
}

export interface LoadOptions {
  /** Most requests in flight. */
  concurrency: number;
  /**
   * Open-loop pacing: request i is sent at start + i / ratePerSec, whether or not earlier ones were
   * answered (up to `concurrency` in flight), as independent clients would. Unset: closed loop, as
   * fast as the answers come.
   */
  ratePerSec?: number;
  /** Called with each 202's X-Message-Id and the time it was read (`clockMs`). */
  onAccepted?: (requestId: string, atMs: number) => void;
}

/**
 * Posts `count` bodies to `url` over keep-alive connections. Any answer other than 202 stops the
 * run with the answer: a bench must not count failures.
 */
export async function postMany(url: string, apiKey: string, bodies: (i: number) => Buffer, count: number, options: LoadOptions): Promise<LoadResult> {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const started = performance.now();
  let next = 0;
  let accepted = 0;
  const post = (body: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode === 202) {
              accepted++;
              options.onAccepted?.(String(res.headers['x-message-id']), clockMs());
              resolve();
            } else reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 500)}`));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  async function lane(): Promise<void> {
    while (next < count) {
      const i = next++;
      if (options.ratePerSec !== undefined) {
        const due = started + (i * 1000) / options.ratePerSec - performance.now();
        if (due > 0) await sleep(due);
      }
      await post(bodies(i));
    }
  }
  try {
    await Promise.all(Array.from({ length: options.concurrency }, lane));
  } finally {
    agent.destroy();
  }
  return { accepted, ms: performance.now() - started };
}
