import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import pg from 'pg';
import { startHerald, stopHeraldChildren, type HeraldChild } from '../support/herald-child.js';
import { heraldMessageId, startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startDnsServer, type DnsTestServer } from '../support/dns-server.js';
import { eventually, mailBody, tempDataDir } from '../support/test-herald.js';
import { freePort } from '../support/free-port.js';
import { TEST_DATABASE_URL, dropSchema, freshSchema } from '../conformance/backends.js';

// Cluster mode on the machine's PostgreSQL: a destination's connection limit holds for the whole
// cluster. Two delivery processes deliver by direct MX to one destination limited to 4
// connections; its MX host (a sink on 127.0.0.2) never sees more than 4 at once, and both
// processes take part.

const LIMIT = 4;
const MESSAGES = 600;
const schema = freshSchema();
const dirs: string[] = [];
let sink: SmtpSink | undefined;
let dns: DnsTestServer | undefined;

after(async () => {
  await stopHeraldChildren();
  await sink?.close();
  await dns?.close();
  await dropSchema(schema);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function settings(extra: Record<string, string>): Record<string, string> {
  const dir = tempDataDir();
  dirs.push(dir);
  return { HERALD_BACKEND: 'postgres', HERALD_DATABASE_URL: TEST_DATABASE_URL, HERALD_DATABASE_SCHEMA: schema, HERALD_DATA_DIR: dir, ...extra };
}

async function liveDeliveryProcesses(): Promise<number> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return Number((await client.query(`SELECT COUNT(*) AS n FROM ${schema}.delivery_processes`)).rows[0].n);
  } finally {
    await client.end();
  }
}

test(`two delivery processes share a destination's ${LIMIT} connections instead of taking ${LIMIT} each`, { timeout: 180_000 }, async () => {
  const port = await freePort();
  // Every message takes a moment at the MX host, so each process wants every connection it may have.
  sink = await startSmtpSink({ host: '127.0.0.2', port, onData: () => new Promise((r) => setTimeout(r, 15)) });
  dns = await startDnsServer({ records: { 'limited.test': { MX: [{ exchange: 'mx.limited.test', priority: 10 }] }, 'mx.limited.test': { A: [{ address: '127.0.0.2' }] } } });
  const api = await startHerald(settings({ HERALD_ROLES: 'api', HERALD_PORT: String(await freePort()) }));
  assert.ok(api.apiKey, api.output());
  const delivery = (name: string): Promise<HeraldChild> =>
    startHerald(
      settings({
        HERALD_ROLES: 'delivery',
        HERALD_PORT: '0',
        HERALD_HOSTNAME: name,
        HERALD_DELIVERY_TRANSPORT: 'mx',
        HERALD_DNS_SERVERS: `127.0.0.1:${dns!.port}`,
        HERALD_SMTP_PORT: String(port),
        HERALD_SMTP_IPV6: 'false',
        HERALD_DESTINATION_OVERRIDES: JSON.stringify({ 'limited.test': { maxConnections: LIMIT } }),
      }),
    );
  await Promise.all([delivery('one.test'), delivery('two.test')]);
  await eventually(async () => (await liveDeliveryProcesses()) === 2, 20_000, 'both delivery processes to report in');
  // One heartbeat interval more, so each has counted the other since it joined.
  await new Promise((r) => setTimeout(r, 2500));

  const personalizations = Array.from({ length: MESSAGES }, (_, i) => ({ to: [{ email: `r${i}@limited.test` }] }));
  const res = await fetch(`${api.url}/v3/mail/send`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(mailBody({ personalizations })),
  });
  assert.equal(res.status, 202, await res.text());
  await sink.waitFor(MESSAGES, 120_000);

  const hosts = new Set(sink.messages.map((m) => heraldMessageId(m.raw)?.host));
  assert.ok(hosts.has('one.test') && hosts.has('two.test'), `both processes delivered: ${[...hosts].join(', ')}`);
  assert.ok(sink.peakConnections <= LIMIT, `the MX host saw ${sink.peakConnections} connections at once; the cluster-wide limit is ${LIMIT}`);
  assert.ok(sink.peakConnections >= 2, 'and the processes did use their connections');
});
