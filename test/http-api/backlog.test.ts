import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mailBody, startTestHerald } from '../support/test-herald.js';

test('past maxQueuedMessages the API answers 429 with Retry-After and accepts nothing of the request', async (t) => {
  // No delivery role: the queue only grows.
  const herald = await startTestHerald({ roles: 'api', maxQueuedMessages: 5 });
  t.after(() => herald.close());
  const send = (n: number) =>
    herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: Array.from({ length: n }, (_, i) => ({ to: [{ email: `r${i}@example.com` }] })) }) });
  assert.equal((await send(3)).status, 202);
  assert.equal((await send(2)).status, 202);
  const refused = await send(1);
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '5');
  const body = (await refused.json()) as { errors: { code: string; message: string }[] };
  assert.equal(body.errors[0]!.code, 'HERALD_ERR_BACKLOG_FULL');
  assert.match(body.errors[0]!.message, /holds 5 messages, at its bound of 5/);
  const depth = await herald.backend.queue.depth();
  assert.equal(depth.ready + depth.scheduled + depth.leased, 5, 'nothing of the refused request was queued');
  // A request that would cross the bound is refused whole, not cut.
  const herald2 = await startTestHerald({ roles: 'api', maxQueuedMessages: 5 });
  t.after(() => herald2.close());
  const big = await herald2.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: Array.from({ length: 6 }, (_, i) => ({ to: [{ email: `r${i}@example.com` }] })) }) });
  assert.equal(big.status, 429);
  assert.equal((await herald2.backend.queue.depth()).ready, 0);
});
