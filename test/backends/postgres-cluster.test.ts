import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startHerald, stopHeraldChildren, waitForExit, type HeraldChild } from '../support/herald-child.js';
import { heraldMessageId, startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { eventually, mailBody, tempDataDir } from '../support/test-herald.js';
import { freePort } from '../support/free-port.js';
import { TEST_DATABASE_URL, dropSchema, freshSchema } from '../conformance/backends.js';

// Cluster mode on the machine's PostgreSQL: one API process and two delivery processes, separate
// OS processes, sharing one schema. One delivery process is killed with SIGKILL mid-run; the
// survivor finishes everything once the dead one's leases run out. Nothing accepted is lost.

const MESSAGES = 3000;
const PER_REQUEST = 1000;
const CONCURRENCY = 32; // each delivery process's in-flight window
const LEASE_MS = 3000;

const schema = freshSchema();
const dirs: string[] = [];
let sink: SmtpSink | undefined;

after(async () => {
  await stopHeraldChildren();
  await sink?.close();
  await dropSchema(schema);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function settings(extra: Record<string, string>): Record<string, string> {
  const dir = tempDataDir();
  dirs.push(dir);
  return { HERALD_BACKEND: 'postgres', HERALD_DATABASE_URL: TEST_DATABASE_URL, HERALD_DATABASE_SCHEMA: schema, HERALD_DATA_DIR: dir, ...extra };
}

/** [message id, host of the process that composed it]. */
function identify(raw: Buffer): [string, string] | null {
  const found = heraldMessageId(raw);
  return found ? [found.id, found.host] : null;
}

test('two delivery processes share the queue; one is killed with SIGKILL and the other finishes every message', { timeout: 240_000 }, async () => {
  sink = await startSmtpSink();
  const api = await startHerald(settings({ HERALD_ROLES: 'api', HERALD_PORT: String(await freePort()) }));
  assert.ok(api.apiKey, api.output());
  const delivery = (name: string): Promise<HeraldChild> =>
    startHerald(
      settings({
        HERALD_ROLES: 'delivery',
        HERALD_PORT: String(0),
        HERALD_HOSTNAME: name,
        HERALD_SMTP_RELAY: sink!.url,
        HERALD_DELIVERY_CONCURRENCY: String(CONCURRENCY),
        HERALD_DELIVERY_LEASE_MS: String(LEASE_MS),
      }),
    );
  const [doomed, survivor] = await Promise.all([delivery('doomed.test'), delivery('survivor.test')]);

  const accepted = new Set<string>();
  for (let r = 0; r < MESSAGES / PER_REQUEST; r++) {
    const personalizations = Array.from({ length: PER_REQUEST }, (_, i) => ({ to: [{ email: `r${r}-${i}@example.com` }] }));
    const res = await fetch(`${api.url}/v3/mail/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(mailBody({ personalizations })),
    });
    assert.equal(res.status, 202, await res.text());
    for (let i = 0; i < PER_REQUEST; i++) accepted.add(`${res.headers.get('x-message-id')}.${i}`);
  }

  // Both take part before the kill: the queue is shared, not owned.
  await eventually(async () => {
    const hosts = new Set(sink!.messages.map((m) => identify(m.raw)?.[1]));
    return hosts.has('doomed.test') && hosts.has('survivor.test') && sink!.count >= MESSAGES / 5;
  }, 60_000, 'both delivery processes to deliver');
  doomed.proc.kill('SIGKILL');
  assert.equal((await waitForExit(doomed, 'the killed process')).signal, 'SIGKILL');

  const arrived = new Map<string, number>();
  await eventually(async () => {
    arrived.clear();
    for (const m of sink!.messages) {
      const id = identify(m.raw)?.[0];
      if (id) arrived.set(id, (arrived.get(id) ?? 0) + 1);
    }
    return [...accepted].every((id) => arrived.has(id));
  }, 120_000, `all ${MESSAGES} messages at the sink`).catch((error: unknown) => {
    const missing = [...accepted].filter((id) => !arrived.has(id)).length;
    throw new Error(`${missing} of ${MESSAGES} accepted messages never arrived\nsurvivor:\n${survivor.output().slice(-2000)}`, { cause: error });
  });
  const duplicates = [...arrived.values()].reduce((n, c) => n + c - 1, 0);
  const lateBySurvivor = sink.messages.filter((m) => identify(m.raw)?.[1] === 'survivor.test').length;
  console.log(`cluster kill: ${MESSAGES} accepted, all delivered, ${duplicates} duplicates (limit ${CONCURRENCY}), ${lateBySurvivor} by the survivor`);
  assert.ok(duplicates <= CONCURRENCY, `${duplicates} duplicates exceed the killed process's in-flight window of ${CONCURRENCY}`);
  assert.equal([...arrived.keys()].filter((id) => !accepted.has(id)).length, 0, 'nothing that was not accepted');
});
