import { Agent, request } from 'node:http';

export interface LoadResult {
  /** Requests answered 202. */
  accepted: number;
  /** ms from the first request until the last 202. */
  ms: number;
}

/**
 * Posts `count` bodies to `url` with `concurrency` requests in flight over keep-alive connections.
 * Any answer other than 202 stops the run with the answer: a bench must not count failures.
 */
export async function postMany(url: string, apiKey: string, bodies: (i: number) => Buffer, count: number, concurrency: number): Promise<LoadResult> {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
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
              resolve();
            } else reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 500)}`));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  async function lane(): Promise<void> {
    while (next < count) await post(bodies(next++));
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, lane));
  } finally {
    agent.destroy();
  }
  return { accepted, ms: performance.now() - started };
}
