import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { rmSync } from 'node:fs';
import { startHerald } from '../../src/herald.js';
import { loadConfig } from '../../src/config/load.js';
import { eventually, mailBody, startTestHerald, tempDataDir } from '../support/test-herald.js';

/** Every JSON line written to a log stream, parsed. */
function logLines(): { stream: PassThrough; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('the HTTP request id is stored with accepted mail and names its deliveries in the logs, across a restart', async (t) => {
  const dataDir = tempDataDir();
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  // Accepted by a process that does not deliver…
  const api = await startTestHerald({ roles: 'api' }, { dataDir, keepDataDir: true });
  const send = (headers: Record<string, string>, to: string[]) =>
    api.api('/v3/mail/send', { method: 'POST', headers, json: mailBody({ personalizations: [{ to: to.map((email) => ({ email })) }] }) });
  const traced = await send({ 'x-request-id': 'trace-7f3a' }, ['a@example.com', 'b@example.org']);
  assert.equal(traced.status, 202);
  assert.equal(traced.headers.get('x-request-id'), 'trace-7f3a');
  const untraced = await send({}, ['c@example.net']);
  const madeId = untraced.headers.get('x-request-id')!;
  assert.match(madeId, /^[0-9a-f-]{36}$/);
  await api.close();

  // …delivered by the next one, whose log is captured.
  const log = logLines();
  const config = loadConfig({ env: {}, overrides: { port: 0, logLevel: 'debug', dataDir, deliveryPollMs: 50, deliveryTransport: 'capture' } });
  const delivery = await startHerald({ config, logDestination: log.stream });
  t.after(() => delivery.stop());
  const delivered = await eventually(async () => {
    const found = log.lines().filter((l) => l.component === 'delivery' && l.msg === 'delivered');
    return found.length === 3 ? found : null;
  }, 15_000, 'three delivered log lines');
  const byDestination = new Map(delivered.map((l) => [l.destination, l]));
  for (const destination of ['example.com', 'example.org']) {
    const line = byDestination.get(destination)!;
    assert.equal(line.requestId, 'trace-7f3a', destination);
    assert.equal(line.xMessageId, traced.headers.get('x-message-id'));
    assert.equal(typeof line.messageId, 'string');
  }
  assert.equal(byDestination.get('example.net')!.requestId, madeId);
  const ids = new Set(delivered.map((l) => l.messageId));
  assert.equal(ids.size, 3, 'one line per message, each with its own message id');
});
