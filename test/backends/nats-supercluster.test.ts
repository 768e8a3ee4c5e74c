import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamEventLog } from '../../src/backends/nats/jetstream-event-log.js';
import { newEventId, type HeraldEvent } from '../../src/events/event.js';
import { freePort } from '../support/free-port.js';

// docs/scaling.md's claim, on loopback: two sites, each its own JetStream cluster (one server
// each here), joined by gateways into a supercluster. Site A owns the event stream; site B
// sources it into a stream of its own, and Herald's event log reads B's copy with the same cursor
// semantics. Real nats-server processes, started by the test.

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

interface Site {
  name: string;
  proc: ChildProcess;
  port: number;
  nc?: NatsConnection;
}

const dir = mkdtempSync(join(tmpdir(), 'herald-nats-'));
const sites: Site[] = [];

before(async () => {
  const ports = { A: { client: await freePort(), cluster: await freePort(), gateway: await freePort() }, B: { client: await freePort(), cluster: await freePort(), gateway: await freePort() } };
  for (const name of ['A', 'B'] as const) {
    const me = ports[name];
    const other = name === 'A' ? 'B' : 'A';
    const conf = `
server_name: site-${name}
listen: 127.0.0.1:${me.client}
jetstream { store_dir: "${join(dir, name)}", max_mem: 64MB, max_file: 256MB }
# A one-server cluster names itself as its route: JetStream's clustered mode wants one.
cluster { name: ${name}, listen: 127.0.0.1:${me.cluster}, routes: [ "nats://127.0.0.1:${me.cluster}" ] }
gateway {
  name: ${name}
  listen: 127.0.0.1:${me.gateway}
  gateways: [ { name: ${other}, url: "nats://127.0.0.1:${ports[other].gateway}" } ]
}
`;
    const file = join(dir, `${name}.conf`);
    writeFileSync(file, conf);
    const proc = spawn(NATS_SERVER, ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    proc.on('error', (error) => {
      throw new Error(`cannot start ${NATS_SERVER} (install Debian's nats-server): ${error.message}`);
    });
    sites.push({ name, proc, port: me.client });
    void stderr;
  }
  for (const site of sites) site.nc = await retry(() => connect({ servers: `127.0.0.1:${site.port}`, timeout: 1000 }), `connecting to site ${site.name}`);
});

after(async () => {
  for (const site of sites) await site.nc?.close().catch(() => {});
  for (const site of sites) site.proc.kill('SIGTERM');
  await Promise.all(sites.map((s) => (s.proc.exitCode === null ? new Promise((r) => s.proc.once('exit', r)) : null)));
  rmSync(dir, { recursive: true, force: true });
});

/** Retries `fn` until it works: the supercluster needs a moment to elect its JetStream meta leader. */
async function retry<T>(fn: () => Promise<T>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function event(accountId: string, n: number, id = newEventId()): HeraldEvent {
  return { type: 'delivered', id, accountId, messageId: `msg${n}.0`, email: `r${n}@example.com`, timestamp: 1_700_000_000_000 + n, response: '250 ok', attempt: 1, mxServer: 'mx.example.com' };
}

test('events written in site A are read, in order and once each, from the stream site B sources', async () => {
  const [a, b] = [sites[0]!, sites[1]!];
  const inA = new JetStreamEventLog(a.nc!);
  await retry(() => inA.ensureStream(inA.streamConfig({ placement: { cluster: 'A', tags: [] } })), 'creating the stream in site A');
  const inB = new JetStreamEventLog(b.nc!, { stream: 'HERALD_EVENTS_B', readOnly: true });
  await retry(
    () => inB.ensureStream({ name: 'HERALD_EVENTS_B', placement: { cluster: 'B', tags: [] }, sources: [{ name: 'HERALD_EVENTS' }] }),
    'creating the sourced stream in site B',
  );

  const written = Array.from({ length: 50 }, (_, n) => event(n % 2 === 0 ? 'acct-even' : 'acct-odd', n));
  await inA.append(written.slice(0, 30));
  // A retried append (its ack lost) is stored once: Nats-Msg-Id is the event id.
  await inA.append([written[29]!, ...written.slice(30)]);

  const seen: HeraldEvent[] = [];
  let cursor = 0;
  const deadline = Date.now() + 20_000;
  while (seen.length < written.length) {
    if (Date.now() > deadline) assert.fail(`site B has ${seen.length} of ${written.length} events`);
    const page = await inB.readFrom(cursor, 20);
    seen.push(...page.events);
    cursor = page.cursor;
  }
  assert.deepEqual(seen.map((e) => e.id), written.map((e) => e.id));
  assert.deepEqual(seen[7], written[7]);
  assert.deepEqual((await inB.readFrom(cursor, 20)).events, [], 'nothing after the last one');

  // A cursor kept by a consumer in B (e.g. a webhook dispatcher there) resumes where it was.
  const resumed = await inB.readFrom(40, 100);
  assert.deepEqual(resumed.events.map((e) => e.id), written.slice(40).map((e) => e.id));

  await assert.rejects(inB.append([event('acct-even', 99)]), /copy: append in the site that owns it/);
});
