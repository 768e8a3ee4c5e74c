import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { newEventId, type HeraldEvent } from '../../src/events/event.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';

function processed(accountId: string, n: number): HeraldEvent[] {
  return Array.from({ length: n }, (_, i) => ({ type: 'processed', id: newEventId(), accountId, messageId: `m${i}`, email: `r${i}@example.com`, timestamp: Date.now() }) as HeraldEvent);
}

for (const [name, make] of backendsUnderTest()) {
  describe(`event log head conformance: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId } = fresh));

    test('reading from the head returns exactly what was appended after it', async () => {
      assert.equal(await backend.events.head(), 0, 'an empty log');
      await backend.events.append(processed(accountId, 3));
      const head = await backend.events.head();
      assert.equal((await backend.events.readFrom(head, 100)).events.length, 0);
      await backend.events.append(processed(accountId, 2));
      const after = await backend.events.readFrom(head, 100);
      assert.equal(after.events.length, 2);
      assert.equal(await backend.events.head(), after.cursor);
    });
  });
}
