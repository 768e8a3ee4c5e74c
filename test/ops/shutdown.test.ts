import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { eventually, mailBody, tempDataDir } from '../support/test-herald.js';
import { freePort } from '../support/free-port.js';
import { startHerald, stopHeraldChildren, waitForExit, type HeraldChild } from '../support/herald-child.js';
import { TEST_DATABASE_URL, dropSchema, freshSchema } from '../conformance/backends.js';

// SIGTERM end to end, on a real `herald start` process delivering to a relay that holds every
// message in DATA until the test lets go.

const ARRIVAL_TIMEOUT = 60_000; // ms
const dirs: string[] = [];
const sinks: SmtpSink[] = [];
const cleanups: (() => Promise<void>)[] = [];

after(async () => {
  await stopHeraldChildren();
  for (const c of cleanups) await c();
  await Promise.all(sinks.map((s) => s.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A relay that holds every message in DATA until `open()`; then it accepts them all. */
async function gatedSink(port = 0): Promise<{ sink: SmtpSink; held: () => number; open: () => void }> {
  let opened = false;
  let waiting: (() => void)[] = [];
  const sink = await startSmtpSink({
    port,
    onData: () => (opened ? undefined : new Promise<void>((resolve) => waiting.push(resolve))),
  });
  sinks.push(sink);
  return {
    sink,
    held: () => waiting.length,
    open: () => {
      opened = true;
      for (const go of waiting) go();
      waiting = [];
    },
  };
}

async function send(herald: HeraldChild, apiKey: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${herald.url}/v3/mail/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(mailBody({ personalizations: [{ to: [{ email: `rcpt${i}@example.com` }] }] })),
    });
    assert.equal(res.status, 202);
    ids.push(res.headers.get('x-message-id')!);
  }
  return ids;
}

/** Every message-id Herald gave, found at the relay (each message's Message-ID starts with it). */
function allArrived(sink: SmtpSink, ids: string[]): boolean {
  const seen = sink.messages.map((m) => m.raw.toString('latin1'));
  return ids.every((id) => seen.some((raw) => raw.includes(`<${id}.0@`)));
}

function logLines(output: string): Record<string, unknown>[] {
  return output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('SIGTERM with deliveries in flight: refuses new work, releases leases, flushes its log, exits 0; a restart delivers everything', async () => {
  const dir = tempDataDir();
  dirs.push(dir);
  const gate = await gatedSink();
  const settings = {
    HERALD_PORT: String(await freePort()),
    HERALD_DATA_DIR: dir,
    HERALD_SMTP_RELAY: gate.sink.url,
    HERALD_SMTP_POOL_SIZE: '2',
    HERALD_SHUTDOWN_GRACE_MS: '1500',
    HERALD_LOG_LEVEL: 'info',
  };
  const herald = await startHerald(settings);
  const apiKey = herald.apiKey!;
  const ids = await send(herald, apiKey, 8);
  await eventually(async () => gate.held() >= 2, ARRIVAL_TIMEOUT, 'two deliveries held in DATA');

  // A client in the middle of sending a body: it must not hold the shutdown past its deadline.
  const slow = connect(Number(new URL(herald.url).port), '127.0.0.1');
  await new Promise((resolve) => slow.once('connect', resolve));
  slow.write(`POST /v3/mail/send HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${apiKey}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"personalizations":`);
  slow.on('error', () => {});
  await new Promise((r) => setTimeout(r, 100));

  herald.proc.kill('SIGTERM');
  // From now on nothing new is accepted: 503 while draining, or no listener at all.
  const refused = await eventually(async () => {
    try {
      const r = await fetch(`${herald.url}/v3/mail/send`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(mailBody()) });
      return r.status === 202 ? null : `status ${r.status}`;
    } catch {
      return 'refused';
    }
  }, 10_000, 'new requests refused');
  assert.match(refused, /^(status 503|refused)$/);

  const exit = await waitForExit(herald, 'the process to exit after SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, herald.output());
  slow.destroy();
  // Its log is complete to the last line: the drain, the leases given back, the stop.
  const messages = logLines(herald.output()).map((l) => l.msg);
  assert.ok(messages.includes('draining'), herald.output());
  assert.ok(messages.includes('released leases of unfinished deliveries'), herald.output());
  assert.equal(messages.at(-1), 'stopped', herald.output());

  // The relay opens; the restarted process delivers all eight, none lost.
  gate.open();
  const restarted = await startHerald(settings);
  await eventually(async () => allArrived(gate.sink, ids), ARRIVAL_TIMEOUT, 'all eight messages at the relay');
  restarted.proc.kill('SIGTERM');
  assert.equal((await waitForExit(restarted, 'the restarted process to stop')).code, 0);
});

test('a second SIGTERM ends the drain at once; the messages it left are delivered after a restart', async () => {
  const dir = tempDataDir();
  dirs.push(dir);
  const gate = await gatedSink();
  const settings = {
    HERALD_PORT: String(await freePort()),
    HERALD_DATA_DIR: dir,
    HERALD_SMTP_RELAY: gate.sink.url,
    HERALD_SMTP_POOL_SIZE: '2',
    // Far longer than the test waits: only the second signal can end it.
    HERALD_SHUTDOWN_GRACE_MS: '600000',
    HERALD_LOG_LEVEL: 'info',
  };
  const herald = await startHerald(settings);
  const apiKey = herald.apiKey!;
  const ids = await send(herald, apiKey, 4);
  await eventually(async () => gate.held() >= 2, ARRIVAL_TIMEOUT, 'two deliveries held in DATA');
  herald.proc.kill('SIGTERM');
  await eventually(async () => logLines(herald.output()).some((l) => l.msg === 'draining'), 10_000, 'the drain to begin');
  herald.proc.kill('SIGTERM');
  const exit = await waitForExit(herald, 'the process to exit after a second SIGTERM');
  assert.deepEqual(exit, { code: 130, signal: null }, herald.output());
  assert.ok(logLines(herald.output()).some((l) => /second signal/.test(String(l.msg))), 'the forced exit is logged');

  gate.open();
  const restarted = await startHerald(settings);
  await eventually(async () => allArrived(gate.sink, ids), ARRIVAL_TIMEOUT, 'all four messages at the relay');
  restarted.proc.kill('SIGTERM');
  assert.equal((await waitForExit(restarted, 'the restarted process to stop')).code, 0);
});

/**
 * A TCP proxy to the test PostgreSQL that can freeze: it keeps every connection open but stops
 * passing bytes either way, as a database server that hangs (not one that refuses) would.
 */
async function freezableProxy(): Promise<{ port: number; freeze(): void; thaw(): void; close(): Promise<void> }> {
  const target = new URL(TEST_DATABASE_URL);
  const sockets = new Set<Socket>();
  let frozen = false;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
      from.pipe(to);
      if (frozen) from.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    freeze() {
      frozen = true;
      for (const s of sockets) s.pause();
    },
    thaw() {
      frozen = false;
      for (const s of sockets) s.resume();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test('when the store hangs during the drain, the process still exits, 5 s after shutdownGraceMs, and a restart delivers everything', async () => {
  const proxy = await freezableProxy();
  const schema = freshSchema();
  cleanups.push(() => proxy.close(), () => dropSchema(schema));
  const gate = await gatedSink();
  const settings = {
    HERALD_PORT: String(await freePort()),
    HERALD_DATA_DIR: tempDataDir(),
    HERALD_BACKEND: 'postgres',
    HERALD_DATABASE_URL: `postgres://${target()}@127.0.0.1:${proxy.port}${new URL(TEST_DATABASE_URL).pathname}`,
    HERALD_DATABASE_SCHEMA: schema,
    HERALD_SMTP_RELAY: gate.sink.url,
    HERALD_SMTP_POOL_SIZE: '2',
    HERALD_SHUTDOWN_GRACE_MS: '500',
    // A lease left by the process that could not release it runs out soon after the restart.
    HERALD_DELIVERY_LEASE_MS: '2000',
    HERALD_LOG_LEVEL: 'info',
  };
  dirs.push(settings.HERALD_DATA_DIR);
  const herald = await startHerald(settings);
  const apiKey = herald.apiKey!;
  const ids = await send(herald, apiKey, 4);
  await eventually(async () => gate.held() >= 2, ARRIVAL_TIMEOUT, 'two deliveries held in DATA');
  proxy.freeze();
  herald.proc.kill('SIGTERM');
  const exit = await waitForExit(herald, 'the process to give up on its drain');
  assert.deepEqual(exit, { code: 1, signal: null }, herald.output());
  const lines = logLines(herald.output());
  assert.ok(lines.some((l) => /^shutdown deadline passed/.test(String(l.msg))), herald.output());

  proxy.thaw();
  gate.open();
  const restarted = await startHerald(settings);
  await eventually(async () => allArrived(gate.sink, ids), ARRIVAL_TIMEOUT, 'all four messages at the relay');
  restarted.proc.kill('SIGTERM');
  assert.equal((await waitForExit(restarted, 'the restarted process to stop')).code, 0);
});

/** The user (and password, if any) of the test database URL, for a URL through the proxy. */
function target(): string {
  const u = new URL(TEST_DATABASE_URL);
  return u.password ? `${u.username}:${u.password}` : u.username;
}
