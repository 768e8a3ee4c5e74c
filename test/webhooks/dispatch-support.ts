import { rmSync } from 'node:fs';
import { openBackend, type Backend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { newEventId, type HeraldEvent } from '../../src/events/event.js';
import { expandRequest } from '../../src/message/expand.js';
import { parseMailSend } from '../../src/message/sendgrid-payload.js';
import type { AcceptedRequest } from '../../src/message/mail-request.js';
import type { EndpointSettings } from '../../src/webhooks/webhook-store.js';
import { mailBody, tempDataDir } from '../support/test-herald.js';

/** A SQLite store in a fresh directory with one account; `reopen` closes and opens it again (a restart). */
export interface Store {
  backend: Backend;
  accountId: string;
  reopen(): Promise<Backend>;
  close(): Promise<void>;
}

export async function openStore(): Promise<Store> {
  const dataDir = tempDataDir();
  const open = () => openBackend(loadConfig({ env: {}, overrides: { dataDir } }));
  let backend = await open();
  const accountId = (await backend.accounts.createAccount('acme')).id;
  return {
    get backend() {
      return backend;
    },
    accountId,
    async reopen() {
      await backend.close();
      backend = await open();
      return backend;
    },
    async close() {
      await backend.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Accepts one message with `extra` fields of a SendGrid body (categories, custom_args, asm). */
export async function sendMessage(backend: Backend, accountId: string, extra: Record<string, unknown> = {}, now = Date.now()): Promise<AcceptedRequest> {
  const body = mailBody({ personalizations: [{ to: [{ email: 'ann@example.com' }] }], ...extra });
  const accepted = expandRequest(parseMailSend(body, now), { accountId, apiKeyId: null, nowMs: now, maxAgeMs: 3_600_000 });
  await backend.queue.enqueue(accepted);
  return accepted;
}

/** A delivered event for the first message of `a`. */
export function delivered(a: AcceptedRequest, timestamp = Date.now()): HeraldEvent {
  const m = a.messages[0]!;
  return { type: 'delivered', id: newEventId(), accountId: m.accountId, messageId: m.id, email: m.recipient, timestamp, response: '250 2.0.0 OK', attempt: 1, mxServer: 'mx.example.com' };
}

export async function addEndpoint(backend: Backend, accountId: string, over: Partial<EndpointSettings>): Promise<string> {
  const made = await backend.webhooks.create(accountId, { url: 'http://127.0.0.1:9/', enabled: true, eventTypes: ['processed', 'delivered'], friendlyName: null, ...over }, 5, Date.now());
  if (made === 'limit') throw new Error('limit');
  return made.id;
}
