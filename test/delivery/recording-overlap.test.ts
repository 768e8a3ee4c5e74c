import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openBackend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { expandRequest } from '../../src/message/expand.js';
import { parseMailSend } from '../../src/message/sendgrid-payload.js';
import type { MessageQueue } from '../../src/queue/queue.js';
import type { FinalEvent } from '../../src/events/event.js';
import { startSmtpSink } from '../support/smtp-sink.js';
import { tempDataDir, eventually } from '../support/test-herald.js';
import { startRelayWorker } from '../support/delivery-worker.js';

// The worker gives a message's slot back when its server has answered, not when the outcome is
// written: a store slow to commit must not hold the connections idle.

test('the next message goes out while the previous outcome is still being written', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const dataDir = tempDataDir();
  // One message at a time, to one destination: without the early release the second message
  // would wait for the first one's outcome.
  const config = loadConfig({ env: {}, overrides: { dataDir, smtpRelay: sink.url, smtpPoolSize: 1, deliveryConcurrency: 1, destinationMaxConnections: 1, deliveryPollMs: 50 } });
  const backend = await openBackend(config);

  // The real SQLite queue; its `complete` waits until the test opens the gate.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const recorded: string[] = [];
  const queue: MessageQueue = Object.create(backend.queue) as MessageQueue;
  queue.complete = async (owner: string, event: FinalEvent) => {
    await gate;
    recorded.push(event.messageId);
    return backend.queue.complete(owner, event);
  };

  const mail = parseMailSend(
    {
      personalizations: [{ to: [{ email: 'one@overlap.example' }] }, { to: [{ email: 'two@overlap.example' }] }],
      from: { email: 'sender@herald.example' },
      subject: 'overlap',
      content: [{ type: 'text/plain', value: 'hello' }],
    },
    Date.now(),
  );
  await backend.queue.enqueue(expandRequest(mail, { accountId: 'acct-overlap', apiKeyId: null, nowMs: Date.now(), maxAgeMs: 3_600_000 }));

  // Opened before the worker stops (hooks run in the order they were added), so it can finish.
  t.after(() => open());
  const worker = startRelayWorker(t, { backend, config, dataDir, queue });

  // Both reach the server while neither outcome has been written.
  await sink.waitFor(2, 10_000);
  assert.deepEqual(recorded, []);
  assert.equal(worker.busy, 2, 'both messages are still the worker’s until their outcomes are written');

  open();
  await eventually(async () => (recorded.length === 2 ? true : undefined), 10_000, 'both outcomes written');
  const depth = await backend.queue.depth();
  assert.equal(depth.ready + depth.leased + depth.scheduled, 0, 'nothing is left in the queue');
});
