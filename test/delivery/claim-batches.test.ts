import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openBackend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { expandRequest } from '../../src/message/expand.js';
import { parseMailSend } from '../../src/message/sendgrid-payload.js';
import type { MessageQueue } from '../../src/queue/queue.js';
import { startSmtpSink } from '../support/smtp-sink.js';
import { tempDataDir } from '../support/test-herald.js';
import { startRelayWorker } from '../support/delivery-worker.js';

// A claim is a transaction, and its cost is mostly the transaction's: while a destination is busy
// the worker waits until half of its slots are free and claims them together, rather than one
// small claim per finished message.

test('a busy destination is claimed half of its slots at a time', async (t) => {
  const sink = await startSmtpSink({ keep: false });
  t.after(() => sink.close());
  const dataDir = tempDataDir();
  // Two connections: eight messages of the destination in progress at most, so claims of four.
  const config = loadConfig({ env: {}, overrides: { dataDir, smtpRelay: sink.url, smtpPoolSize: 2, destinationMaxConnections: 2, deliveryPollMs: 50 } });
  const backend = await openBackend(config);

  const claims: number[] = [];
  const queue: MessageQueue = Object.create(backend.queue) as MessageQueue;
  queue.claimFrom = async (...args) => {
    const claimed = await backend.queue.claimFrom(...args);
    claims.push(claimed.length);
    return claimed;
  };

  const messages = 400;
  const mail = parseMailSend(
    {
      personalizations: Array.from({ length: messages }, (_, i) => ({ to: [{ email: `rcpt${i}@claims.example` }] })),
      from: { email: 'sender@herald.example' },
      subject: 'claims',
      content: [{ type: 'text/plain', value: 'hello' }],
    },
    Date.now(),
  );
  await backend.queue.enqueue(expandRequest(mail, { accountId: 'acct-claims', apiKeyId: null, nowMs: Date.now(), maxAgeMs: 3_600_000 }));

  startRelayWorker(t, { backend, config, dataDir, queue });
  await sink.waitFor(messages, 20_000);

  const taken = claims.filter((n) => n > 0);
  assert.equal(taken.reduce((a, b) => a + b, 0), messages, `claims: ${taken.join(' ')}`);
  assert.equal(taken[0], 8, 'the first claim fills the idle destination');
  // Only the last claim may be short: it takes what is left.
  for (const n of taken.slice(0, -1)) assert.ok(n >= 4, `a claim took ${n} of the destination's 8 slots: ${taken.join(' ')}`);
});
