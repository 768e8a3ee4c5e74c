import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startHerald, stopHeraldChildren } from '../support/herald-child.js';
import { heraldMessageId, startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { eventually, mailBody, tempDataDir } from '../support/test-herald.js';
import { freePort } from '../support/free-port.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';

// PostgreSQL stops in the middle of a run and comes back: while it is down the API answers 503
// with Retry-After (and /readyz says why); afterwards Herald carries on by itself, and every
// message that was answered 202 is delivered. A private PostgreSQL, so no other suite notices.

let postgres: PrivatePostgres | undefined;
let sink: SmtpSink | undefined;
const dir = tempDataDir();

after(async () => {
  await stopHeraldChildren();
  await sink?.close();
  await postgres?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test('a PostgreSQL restart during a run: 503 with Retry-After while it is down, nothing accepted is lost', { timeout: 180_000 }, async () => {
  postgres = await startPrivatePostgres();
  sink = await startSmtpSink();
  const herald = await startHerald({
    HERALD_BACKEND: 'postgres',
    HERALD_DATABASE_URL: postgres.url,
    HERALD_DATA_DIR: dir,
    HERALD_PORT: String(await freePort()),
    HERALD_SMTP_RELAY: sink.url,
    HERALD_DELIVERY_LEASE_MS: '3000',
    HERALD_RETRY_BASE_MS: '200',
  });
  assert.ok(herald.apiKey);
  const accepted = new Set<string>();
  const statuses = new Map<number, number>();
  let retryAfter: string | null = null;
  const send = async (i: number): Promise<void> => {
    let res: Response;
    try {
      res = await fetch(`${herald.url}/v3/mail/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${herald.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(mailBody({ personalizations: [{ to: [{ email: `r${i}@example.com` }] }] })),
        signal: AbortSignal.timeout(20_000),
      });
    } catch {
      statuses.set(0, (statuses.get(0) ?? 0) + 1);
      return;
    }
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status === 202) accepted.add(`${res.headers.get('x-message-id')}.0`);
    else if (res.status === 503) retryAfter = res.headers.get('retry-after');
    await res.arrayBuffer();
  };

  let i = 0;
  for (; i < 50; i++) await send(i);
  await postgres.stop();
  // While the store is down: refused, politely, and the process says it is not ready.
  for (let k = 0; k < 10; k++, i++) await send(i);
  const ready = await fetch(`${herald.url}/readyz`).catch((error: unknown) => {
    throw new Error(`/readyz unreachable (exit ${herald.proc.exitCode} ${herald.proc.signalCode}):\n${herald.output().slice(-4000)}`, { cause: error });
  });
  assert.equal(ready.status, 503);
  assert.match(((await ready.json()) as { problems: string[] }).problems.join(' '), /store unreachable/);
  assert.ok((statuses.get(503) ?? 0) > 0, `expected 503s while PostgreSQL was down, got ${JSON.stringify([...statuses])}`);
  assert.equal(retryAfter, '5');

  await postgres.start();
  await eventually(async () => (await fetch(`${herald.url}/readyz`)).status === 200, 30_000, 'ready again');
  for (let k = 0; k < 50; k++, i++) await send(i);
  assert.ok(accepted.size >= 100, `${accepted.size} accepted`);

  const arrived = new Set<string>();
  await eventually(async () => {
    for (const m of sink!.messages) {
      const id = heraldMessageId(m.raw)?.id;
      if (id) arrived.add(id);
    }
    return [...accepted].every((id) => arrived.has(id));
  }, 90_000, 'every accepted message at the sink').catch((error: unknown) => {
    throw new Error(`${[...accepted].filter((id) => !arrived.has(id)).length} accepted messages missing\n${herald.output().slice(-3000)}`, { cause: error });
  });
  assert.equal(herald.proc.exitCode, null, 'Herald kept running through the outage');
});
