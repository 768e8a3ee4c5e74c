import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFaultServer } from '../support/fault-smtp-server.js';
import { startSmtpSink, type SinkMessage, type SmtpSink } from '../support/smtp-sink.js';
import { eventually, mailBody, startTestHerald, tempDataDir } from '../support/test-herald.js';
import { freePort } from '../support/free-port.js';
import { CHILD_HOSTNAME, START_TIMEOUT, spawnHerald, startHerald, stopHeraldChildren, trackChild, waitForExit, type HeraldChild } from '../support/herald-child.js';

const ARRIVAL_TIMEOUT = 60_000; // ms

const dirs: string[] = [];
const sinks: SmtpSink[] = [];

after(async () => {
  await stopHeraldChildren();
  await Promise.all(sinks.map((s) => s.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = tempDataDir();
  dirs.push(dir);
  return dir;
}

async function sink(options: Parameters<typeof startSmtpSink>[0] = {}): Promise<SmtpSink> {
  const s = await startSmtpSink(options);
  sinks.push(s);
  return s;
}

async function sendMessages(herald: HeraldChild, apiKey: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  // Sequential: a 202 must mean durable one by one, not as a burst that happens to fit a group commit.
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${herald.url}/v3/mail/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(mailBody({ subject: `crash test ${i}`, personalizations: [{ to: [{ email: `rcpt${i}@example.com` }] }] })),
    });
    assert.equal(res.status, 202, `message ${i}: ${await res.text()}`);
    ids.push(res.headers.get('x-message-id')!);
  }
  return ids;
}

function messageIdOf(m: SinkMessage): string {
  const head = m.raw.toString('latin1').split('\r\n\r\n')[0]!;
  const id = /^message-id:\s*(<[^>]+>)/im.exec(head)?.[1];
  assert.ok(id, 'every relayed message has a Message-ID');
  return id;
}

/** Message-IDs of every relayed message, and how many arrived more than once. */
function tally(...sources: SinkMessage[][]): { ids: Set<string>; duplicates: number } {
  const all = sources.flat().map(messageIdOf);
  const ids = new Set(all);
  return { ids, duplicates: all.length - ids.size };
}

/** A relay that accepts the first `accept` messages, then holds every further one until the test lets go. */
async function stallingSink(accept: number): Promise<{ sink: SmtpSink; stalled: () => number; release: () => void }> {
  const held: ((error: Error) => void)[] = [];
  let seen = 0;
  const s = await sink({
    onData: () => {
      if (seen++ < accept) return;
      return new Promise<void>((_resolve, reject) => held.push(reject));
    },
  });
  return {
    sink: s,
    stalled: () => held.length,
    release: () => {
      for (const reject of held.splice(0)) reject(Object.assign(new Error('4.3.0 test over'), { responseCode: 451 }));
    },
  };
}

async function statusOf(herald: HeraldChild, apiKey: string, msgId: string): Promise<string> {
  const res = await fetch(`${herald.url}/v3/messages/${msgId}`, { headers: { authorization: `Bearer ${apiKey}` } });
  assert.equal(res.status, 200, `GET /v3/messages/${msgId}`);
  return ((await res.json()) as { status: string }).status;
}

test('after kill -9 with deliveries in flight, a restart on the same data directory delivers every accepted message', async (t) => {
  const dir = dataDir();
  const port = await freePort();
  const first = await stallingSink(5);
  const settings = { HERALD_PORT: String(port), HERALD_DATA_DIR: dir, HERALD_SMTP_RELAY: first.sink.url, HERALD_SMTP_POOL_SIZE: '4' };

  const herald = await startHerald(settings);
  assert.ok(herald.apiKey, `the first start prints an API key:\n${herald.output()}`);
  const apiKey = herald.apiKey;
  const requestIds = await sendMessages(herald, apiKey, 30);
  // Every pool connection is now stuck in DATA and the rest wait behind them.
  await eventually(async () => first.stalled() >= 4, ARRIVAL_TIMEOUT, 'four deliveries stuck in DATA');
  herald.proc.kill('SIGKILL');
  assert.deepEqual(await waitForExit(herald, 'the killed process to exit'), { code: null, signal: 'SIGKILL' });
  assert.ok(existsSync(join(dir, 'herald.pid')), 'kill -9 leaves the pid file behind');

  // The relay comes back healthy on the same address.
  await first.sink.close();
  first.release();
  const second = await sink({ port: first.sink.port });
  const restarted = await startHerald(settings);
  assert.equal(restarted.apiKey, null, 'a restart makes no new key');

  const expected = requestIds.map((id) => `<${id}.0@${CHILD_HOSTNAME}>`);
  const arrived = await eventually(
    async () => {
      const { ids, duplicates } = tally(first.sink.messages, second.messages);
      return expected.every((id) => ids.has(id)) ? { ids, duplicates } : undefined;
    },
    ARRIVAL_TIMEOUT,
    'all 30 messages at the relay',
  );
  t.diagnostic(`accepted before the crash: ${first.sink.count}; after the restart: ${second.count}; duplicates: ${arrived.duplicates}`);
  assert.equal(arrived.ids.size, 30, 'no message the relay never heard of');

  // The store agrees: every message ends delivered.
  await eventually(
    async () => (await Promise.all(requestIds.map((id) => statusOf(restarted, apiKey, `${id}.0`)))).every((s) => s === 'delivered'),
    ARRIVAL_TIMEOUT,
    'every message delivered in the activity API',
  );
  restarted.proc.kill('SIGTERM');
  assert.equal((await waitForExit(restarted, 'the restarted process to stop')).code, 0);
});

test('SIGTERM drains within the grace period, exits 0, and a restart delivers what was left', async (t) => {
  const dir = dataDir();
  const port = await freePort();
  const first = await stallingSink(0);
  const settings = {
    HERALD_PORT: String(port),
    HERALD_DATA_DIR: dir,
    HERALD_SMTP_RELAY: first.sink.url,
    HERALD_SMTP_POOL_SIZE: '2',
    HERALD_SHUTDOWN_GRACE_MS: '1000',
  };

  const herald = await startHerald(settings);
  const apiKey = herald.apiKey!;
  const requestIds = await sendMessages(herald, apiKey, 10);
  await eventually(async () => first.stalled() >= 2, ARRIVAL_TIMEOUT, 'two deliveries stuck in DATA');
  herald.proc.kill('SIGTERM');
  const exit = await waitForExit(herald, 'the process to exit after SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, herald.output());
  assert.equal(existsSync(join(dir, 'herald.pid')), false, 'a clean stop removes its pid file');

  await first.sink.close();
  first.release();
  const second = await sink({ port: first.sink.port });
  const restarted = await startHerald(settings);
  const expected = requestIds.map((id) => `<${id}.0@${CHILD_HOSTNAME}>`);
  const arrived = await eventually(
    async () => {
      const { ids, duplicates } = tally(second.messages);
      return expected.every((id) => ids.has(id)) ? { ids, duplicates } : undefined;
    },
    ARRIVAL_TIMEOUT,
    'all 10 messages at the relay after the restart',
  );
  t.diagnostic(`duplicates after the restart: ${arrived.duplicates}`);
  await eventually(
    async () => (await Promise.all(requestIds.map((id) => statusOf(restarted, apiKey, `${id}.0`)))).every((s) => s === 'delivered'),
    ARRIVAL_TIMEOUT,
    'every message delivered in the activity API',
  );
  restarted.proc.kill('SIGTERM');
  assert.equal((await waitForExit(restarted, 'the restarted process to stop')).code, 0);
});

test('a second server on a data directory in use refuses to start with HERALD_ERR_DATA_DIR_LOCKED', async () => {
  const dir = dataDir();
  const running = await startHerald({ HERALD_PORT: String(await freePort()), HERALD_DATA_DIR: dir });

  const second = spawnHerald({ HERALD_PORT: String(await freePort()), HERALD_DATA_DIR: dir });
  const exit = await waitForExit(second, 'the second server to give up');
  assert.notEqual(exit.code, 0);
  assert.equal(exit.signal, null);
  assert.match(second.output(), /HERALD_ERR_DATA_DIR_LOCKED/);
  assert.match(second.output(), new RegExp(`pid ${running.proc.pid}`), 'the message names the process holding the directory');
  assert.doesNotMatch(second.output(), /^\s+at /m, 'no stack trace');

  // The first server is untouched and still owns the directory.
  const health = await fetch(`${running.url}/healthz`);
  assert.equal(health.status, 200);
  assert.ok(existsSync(join(dir, 'herald.pid')), 'the refused start left the lock alone');

  running.proc.kill('SIGTERM');
  assert.equal((await waitForExit(running, 'the first server to stop')).code, 0);
  // Once it is gone the directory is free again.
  const next = await startHerald({ HERALD_PORT: String(await freePort()), HERALD_DATA_DIR: dir });
  next.proc.kill('SIGTERM');
  assert.equal((await waitForExit(next, 'the next server to stop')).code, 0);
});

test(
  'a pid file left by a crash does not block start-up when its pid now belongs to another program',
  {},
  async () => {
    const dir = dataDir();
    // Any live process that is not Herald stands in for a pid the kernel handed out again.
    const bystander = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
    trackChild(bystander);
    writeFileSync(join(dir, 'herald.pid'), String(bystander.pid));

    const { proc, output, exited } = spawnHerald({ HERALD_PORT: String(await freePort()), HERALD_DATA_DIR: dir });
    let gone = false;
    void exited.then(() => (gone = true));
    const started = await eventually(
      async () => (/Herald is listening on/.test(output()) ? 'started' : gone ? 'refused' : undefined),
      START_TIMEOUT,
      'the banner or an exit',
    ).then((outcome) => outcome === 'started');
    bystander.kill('SIGKILL');
    if (started) proc.kill('SIGTERM');
    assert.ok(started, `Herald refused to start:\n${output()}`);
  },
);

test(
  'stop() closes a relay connection stuck in the middle of a delivery',
  {},
  async () => {
    const server = await startFaultServer({ onData: 'hang' });
    const herald = await startTestHerald({ smtpRelay: server.url, shutdownGraceMs: 200 });
    try {
      const res = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody() });
      assert.equal(res.status, 202);
      await eventually(async () => server.commands.includes('DATA') && server.open > 0, 20_000, 'a delivery stuck after DATA');
      await herald.close();
      // smtpSocketTimeoutMs (10 minutes by default) must not be what ends it.
      await eventually(async () => server.open === 0, 10_000, 'the relay connection to close');
    } finally {
      await herald.close();
      await server.close();
    }
  },
);
