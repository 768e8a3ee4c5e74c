import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { eventually, mailBody, tempDataDir } from '../support/test-herald.js';
import { freePort } from '../support/free-port.js';
import { startHerald, stopHeraldChildren, waitForExit } from '../support/herald-child.js';

// Overload, bounded and on loopback only: a real `herald start` with a small queue bound and a
// relay that takes nothing, pushed far past capacity by concurrent clients for a few seconds.
// What must hold: its memory stays bounded, the pushback is 429 with Retry-After, and every
// message it accepted is delivered once the relay opens. Nothing here depends on how fast
// anything is: only counts and a (generous) memory bound are asserted.

const MAX_QUEUED = 200;
const CLIENTS = 24;
/** The clients push until this many requests were refused (well past capacity)… */
const REFUSALS_WANTED = 300;
/** …or this long has passed, ms: a bound on the test's length, not an assertion. */
const PUSH_MS = 12_000;
const RECIPIENTS = 3; // per request
/** Resident memory the process may reach under this load, bytes: several times what it needs. */
const RSS_BOUND = 512 * 1024 * 1024;

let sink: SmtpSink | null = null;
let dir: string | null = null;
after(async () => {
  await stopHeraldChildren();
  await sink?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function residentBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^herald_process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  assert.ok(m, 'the process reports its resident memory');
  return Number(m[1]);
}

test('pushed far past maxQueuedMessages with a relay that takes nothing: memory stays bounded, the pushback is 429 with Retry-After, and every accepted message is delivered', async (t) => {
  dir = tempDataDir();
  let open = false;
  let waiting: (() => void)[] = [];
  sink = await startSmtpSink({ onData: () => (open ? undefined : new Promise<void>((resolve) => waiting.push(resolve))) });
  const herald = await startHerald({
    HERALD_PORT: String(await freePort()),
    HERALD_DATA_DIR: dir,
    HERALD_SMTP_RELAY: sink.url,
    HERALD_SMTP_POOL_SIZE: '4',
    HERALD_MAX_QUEUED_MESSAGES: String(MAX_QUEUED),
  });
  const apiKey = herald.apiKey!;
  const accepted: string[] = [];
  const refusals = { count: 0, withoutRetryAfter: 0, otherStatus: new Map<number, number>() };
  let peak = await residentBytes(herald.url);
  const baseline = peak;
  const until = Date.now() + PUSH_MS;
  const body = JSON.stringify(
    mailBody({
      personalizations: Array.from({ length: RECIPIENTS }, (_, i) => ({ to: [{ email: `r${i}@example.com` }] })),
      content: [{ type: 'text/plain', value: 'x'.repeat(4096) }],
    }),
  );
  const pushing = (): boolean => Date.now() < until && refusals.count < REFUSALS_WANTED;
  const client = async (): Promise<void> => {
    while (pushing()) {
      const res = await fetch(`${herald.url}/v3/mail/send`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      if (res.status === 202) accepted.push(res.headers.get('x-message-id')!);
      else if (res.status === 429) {
        refusals.count++;
        if (!/^\d+$/.test(res.headers.get('retry-after') ?? '')) refusals.withoutRetryAfter++;
      } else refusals.otherStatus.set(res.status, (refusals.otherStatus.get(res.status) ?? 0) + 1);
    }
  };
  const sampler = (async () => {
    while (pushing()) {
      peak = Math.max(peak, await residentBytes(herald.url));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  await Promise.all([...Array.from({ length: CLIENTS }, client), sampler]);
  peak = Math.max(peak, await residentBytes(herald.url));
  t.diagnostic(`accepted ${accepted.length} requests (${accepted.length * RECIPIENTS} messages), refused ${refusals.count}; RSS ${Math.round(baseline / 1048576)} MiB at start, ${Math.round(peak / 1048576)} MiB at peak`);

  assert.deepEqual([...refusals.otherStatus], [], 'every answer was 202 or 429');
  assert.ok(refusals.count > 0, 'the load went past capacity');
  assert.equal(refusals.withoutRetryAfter, 0, 'every 429 says when to retry');
  assert.ok(accepted.length > 0);
  // The bound holds, give or take the requests admitted together before the queue was counted again.
  assert.ok(accepted.length * RECIPIENTS <= MAX_QUEUED + CLIENTS * RECIPIENTS, `${accepted.length * RECIPIENTS} messages accepted for a bound of ${MAX_QUEUED}`);
  assert.ok(peak < RSS_BOUND, `resident memory peaked at ${peak} bytes`);

  // The relay opens: every accepted message arrives, none lost.
  open = true;
  for (const go of waiting) go();
  waiting = [];
  const s = sink;
  await eventually(
    async () => {
      const seen = new Set(s.messages.map((m) => /^message-id:\s*<([^>]+)\.\d+@/im.exec(m.raw.toString('latin1'))?.[1]));
      return accepted.every((id) => seen.has(id)) && s.count >= accepted.length * RECIPIENTS;
    },
    60_000,
    'every accepted message at the relay',
  );
  herald.proc.kill('SIGTERM');
  assert.equal((await waitForExit(herald, 'the process to stop')).code, 0);
});
