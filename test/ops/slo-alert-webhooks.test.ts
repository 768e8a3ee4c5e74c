import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createPublicKey, verify } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { openBackend, type Backend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { BUCKET_MS } from '../../src/ops/slo/burn-rate.js';
import { SloMonitor } from '../../src/ops/slo/slo-monitor.js';
import { tempDataDir } from '../support/test-herald.js';

// SendGrid's own verifier (CommonJS) checks the signatures, as a receiver of its Event Webhook would.
const { EventWebhook, EventWebhookHeader } = createRequire(import.meta.url)('@sendgrid/eventwebhook') as typeof import('@sendgrid/eventwebhook');

const START = Date.UTC(2026, 0, 10, 12, 0, 30);

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver answering each request with the next status of `statuses` (the last one repeats). */
async function receiver(statuses: number[]): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = statuses[Math.min(received.length - 1, statuses.length - 1)]!;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/hooks/slo?token=secret`, received, server };
}

describe('SLO alert webhooks', () => {
  let dataDir: string;
  let backend: Backend;
  let now: number;
  const servers: Server[] = [];

  beforeEach(async () => {
    dataDir = tempDataDir();
    backend = await openBackend(loadConfig({ env: {}, overrides: { dataDir } }));
    now = START;
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    await backend.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function monitorFor(urls: string[], attempts = 3): Promise<SloMonitor> {
    const config = loadConfig({ env: {}, overrides: { sloAlertWebhookUrls: urls, slos: { api: { objective: 0.999, sli: { kind: 'availability' } } } } });
    return SloMonitor.open({ config, store: backend.slos, secrets: backend.secrets, log: createLogger('silent'), now: () => now, sender: { attempts, retryBaseMs: 5 } });
  }

  /** An hour burning 20× the budget after three good days: a page (and no ticket). */
  async function burn(): Promise<void> {
    const current = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    await backend.slos.add(Array.from({ length: 3 * 24 * 60 }, (_, i) => ({ slo: 'api', bucket: current - i * BUCKET_MS, good: i < 60 ? 980 : 1000, total: 1000 })));
  }

  test('a firing and a resolved alert are posted, signed like the Event Webhook, retried after a 503', async () => {
    const hook = await receiver([503, 200]);
    servers.push(hook.server);
    const monitor = await monitorFor([hook.url]);
    await burn();
    assert.equal((await monitor.evaluate()).length, 1);
    await monitor.settled();
    assert.equal(hook.received.length, 2, 'the 503 was retried once');
    const [first, second] = hook.received;
    assert.equal(first!.body, second!.body);
    const alert = JSON.parse(second!.body) as Record<string, unknown>;
    assert.equal(alert.type, 'slo_alert');
    assert.equal(alert.state, 'firing');
    assert.equal(alert.slo, 'api');
    assert.equal(alert.severity, 'page');
    assert.equal(alert.objective, 0.999);
    assert.equal(alert.since, new Date(START).toISOString());
    assert.equal((alert.burn_rates as Record<string, number>)['1h'], 20);

    const signature = second!.headers[EventWebhookHeader.SIGNATURE().toLowerCase()] as string;
    const timestamp = second!.headers[EventWebhookHeader.TIMESTAMP().toLowerCase()] as string;
    assert.equal(timestamp, String(Math.floor(START / 1000)));
    const ew = new EventWebhook();
    assert.ok(ew.verifySignature(ew.convertPublicKeyToECDSA(monitor.publicKey), second!.body, signature, timestamp));
    assert.ok(!ew.verifySignature(ew.convertPublicKeyToECDSA(monitor.publicKey), second!.body.replace('page', 'tick'), signature, timestamp));
    const key = createPublicKey({ key: Buffer.from(monitor.publicKey, 'base64'), format: 'der', type: 'spki' });
    assert.ok(verify('sha256', Buffer.from(timestamp + second!.body), key, Buffer.from(signature, 'base64')));

    now += 6 * BUCKET_MS;
    const current = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    await backend.slos.add(Array.from({ length: 6 }, (_, i) => ({ slo: 'api', bucket: current - i * BUCKET_MS, good: 1000, total: 1000 })));
    assert.equal((await monitor.evaluate()).length, 1);
    await monitor.settled();
    assert.equal(hook.received.length, 3);
    assert.equal((JSON.parse(hook.received[2]!.body) as { state: string }).state, 'resolved');
    await monitor.stop();
  });

  test('retries are bounded, and a receiver refusing with a 4xx is not retried', async () => {
    const failing = await receiver([500]);
    const refusing = await receiver([400]);
    servers.push(failing.server, refusing.server);
    const monitor = await monitorFor([failing.url, refusing.url], 4);
    await burn();
    await monitor.evaluate();
    await monitor.settled();
    assert.equal(failing.received.length, 4);
    assert.equal(refusing.received.length, 1);
    await monitor.stop();
  });

  test('a restarted process signs with the same key: it is kept in the store', async () => {
    const first = (await monitorFor([])).publicKey;
    await backend.close();
    backend = await openBackend(loadConfig({ env: {}, overrides: { dataDir } }));
    assert.equal((await monitorFor([])).publicKey, first);
  });
});
