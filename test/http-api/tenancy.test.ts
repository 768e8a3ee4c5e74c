import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, mailBody, eventually, type TestHerald } from '../support/test-herald.js';

// Two accounts on one Herald: everything B can reach with its key is B's own. Whatever B tries
// against A's messages, captures, keys and batches answers as if they did not exist, and A's
// view is unchanged afterwards.

interface Summary {
  msg_id: string;
  to_email: string;
  status: string;
}
interface InboxEntry {
  id: string;
  msg_id: string;
  to: string;
}

let herald: TestHerald;
let a: { accountId: string; apiKey: string };
let b: { accountId: string; apiKey: string };
/** X-Message-Id of A's request, and the ids of its messages and captures. */
let aRequestId: string;
let aMessageIds: string[];
let aInbox: InboxEntry[];
let bRequestId: string;
let bBatchId: string;

const keyId = (key: string) => key.split('.')[1]!;

async function messagesOf(key: string, query?: string): Promise<Summary[]> {
  const qs = new URLSearchParams({ limit: '1000', ...(query ? { query } : {}) });
  const res = await herald.api(`/v3/messages?${qs}`, { key });
  assert.equal(res.status, 200);
  return ((await res.json()) as { messages: Summary[] }).messages;
}

async function inboxOf(key: string): Promise<InboxEntry[]> {
  const res = await herald.api('/v1/inbox?limit=1000', { key });
  assert.equal(res.status, 200);
  return ((await res.json()) as { messages: InboxEntry[] }).messages;
}

async function expectNotFound(res: Response): Promise<void> {
  assert.equal(res.status, 404);
  const body = (await res.json()) as { errors: { code: string }[] };
  assert.equal(body.errors[0]!.code, 'HERALD_ERR_NOT_FOUND');
}

/** A's whole view, to compare before and after B's attempts. */
async function viewOfA() {
  const messages = (await messagesOf(a.apiKey)).map((m) => `${m.msg_id} ${m.to_email} ${m.status}`).sort();
  const inbox = (await inboxOf(a.apiKey)).map((m) => `${m.id} ${m.msg_id}`).sort();
  const keys = ((await (await herald.api('/v3/api_keys', { key: a.apiKey })).json()) as { result: { api_key_id: string }[] }).result
    .map((k) => k.api_key_id)
    .sort();
  return { messages, inbox, keys };
}

let aViewBefore: Awaited<ReturnType<typeof viewOfA>>;

before(async () => {
  herald = await startTestHerald();
  a = await herald.newAccount('tenant-a');
  b = await herald.newAccount('tenant-b');

  const sentA = await herald.api('/v3/mail/send', {
    method: 'POST',
    key: a.apiKey,
    json: mailBody({ personalizations: [{ to: [{ email: 'alice@a.example' }], cc: [{ email: 'carol@a.example' }] }], subject: 'for A only' }),
  });
  assert.equal(sentA.status, 202);
  aRequestId = sentA.headers.get('x-message-id')!;
  aMessageIds = [`${aRequestId}.0`, `${aRequestId}.1`];

  const sentB = await herald.api('/v3/mail/send', {
    method: 'POST',
    key: b.apiKey,
    json: mailBody({ personalizations: [{ to: [{ email: 'bob@b.example' }] }], subject: 'for B only' }),
  });
  assert.equal(sentB.status, 202);
  bRequestId = sentB.headers.get('x-message-id')!;

  const batch = await herald.api('/v3/mail/batch', { method: 'POST', key: b.apiKey });
  assert.equal(batch.status, 201);
  bBatchId = ((await batch.json()) as { batch_id: string }).batch_id;

  aInbox = await eventually(async () => {
    const list = await inboxOf(a.apiKey);
    return list.length === 2 ? list : null;
  }, 15000, "A's two messages to be captured");
  await eventually(async () => (await inboxOf(b.apiKey)).length === 1, 15000, "B's message to be captured");
  aViewBefore = await viewOfA();
});

after(async () => {
  await herald.close();
});

describe("B cannot see A's messages", () => {
  test("GET /v3/messages with B's key lists none of A's", async () => {
    const listed = await messagesOf(b.apiKey);
    assert.deepEqual(listed.map((m) => m.msg_id), [`${bRequestId}.0`]);
  });

  test("a query naming A's message ids or recipients finds nothing for B", async () => {
    assert.deepEqual(await messagesOf(b.apiKey, `msg_id LIKE '${aRequestId}%'`), []);
    assert.deepEqual(await messagesOf(b.apiKey, 'to_email="alice@a.example"'), []);
    assert.deepEqual(await messagesOf(b.apiKey, `msg_id IN ("${aMessageIds[0]}", "${aMessageIds[1]}") OR subject="for A only"`), []);
  });

  test("GET /v3/messages/<A's id> with B's key is a 404", async () => {
    for (const id of aMessageIds) await expectNotFound(await herald.api(`/v3/messages/${id}`, { key: b.apiKey }));
  });
});

describe("B cannot see or delete A's captures", () => {
  test("GET /v1/inbox with B's key lists none of A's", async () => {
    const listed = await inboxOf(b.apiKey);
    assert.deepEqual(listed.map((m) => m.msg_id), [`${bRequestId}.0`]);
    const filtered = await herald.api(`/v1/inbox?to=${encodeURIComponent('alice@a.example')}`, { key: b.apiKey });
    assert.deepEqual(((await filtered.json()) as { messages: unknown[] }).messages, []);
  });

  test("GET /v1/inbox/<A's id> and its /raw with B's key are 404", async () => {
    for (const entry of aInbox) {
      await expectNotFound(await herald.api(`/v1/inbox/${entry.id}`, { key: b.apiKey }));
      await expectNotFound(await herald.api(`/v1/inbox/${entry.id}/raw`, { key: b.apiKey }));
    }
  });

  test("DELETE /v1/inbox with B's key deletes only B's captures", async () => {
    const res = await herald.api('/v1/inbox', { method: 'DELETE', key: b.apiKey });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { deleted: 1 });
    assert.deepEqual(await inboxOf(b.apiKey), []);
    assert.equal((await inboxOf(a.apiKey)).length, 2);
  });
});

describe("B cannot touch A's keys", () => {
  test("GET /v3/api_keys with B's key lists only B's keys", async () => {
    const res = await herald.api('/v3/api_keys', { key: b.apiKey });
    const ids = ((await res.json()) as { result: { api_key_id: string }[] }).result.map((k) => k.api_key_id);
    assert.deepEqual(ids, [keyId(b.apiKey)]);
  });

  test("GET and DELETE /v3/api_keys/<A's key id> with B's key are 404, and A's key keeps working", async () => {
    const aKeyId = keyId(a.apiKey);
    await expectNotFound(await herald.api(`/v3/api_keys/${aKeyId}`, { key: b.apiKey }));
    await expectNotFound(await herald.api(`/v3/api_keys/${aKeyId}`, { method: 'DELETE', key: b.apiKey }));
    const defaultKeyId = keyId(herald.apiKey);
    await expectNotFound(await herald.api(`/v3/api_keys/${defaultKeyId}`, { method: 'DELETE', key: b.apiKey }));

    assert.equal((await herald.api('/v3/messages', { key: a.apiKey })).status, 200);
    const sent = await herald.api('/v3/mail/send', { method: 'POST', key: a.apiKey, json: mailBody({ mail_settings: { sandbox_mode: { enable: true } } }) });
    assert.equal(sent.status, 200);
    assert.equal((await herald.api('/v3/messages', { key: herald.apiKey })).status, 200);
  });
});

describe("batches are per account", () => {
  test("A cannot send with B's batch id", async () => {
    const res = await herald.api('/v3/mail/send', { method: 'POST', key: a.apiKey, json: mailBody({ batch_id: bBatchId }) });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { errors: { code: string; field: string }[] };
    assert.deepEqual(body.errors.map((e) => [e.field, e.code]), [['batch_id', 'HERALD_ERR_UNKNOWN_BATCH']]);
  });

  test("A cannot read B's batch", async () => {
    const res = await herald.api(`/v3/mail/batch/${bBatchId}`, { key: a.apiKey });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { errors: { code: string }[] };
    assert.equal(body.errors[0]!.code, 'HERALD_ERR_UNKNOWN_BATCH');
  });

  test('B can use its own batch id', async () => {
    assert.equal((await herald.api(`/v3/mail/batch/${bBatchId}`, { key: b.apiKey })).status, 200);
    const res = await herald.api('/v3/mail/send', {
      method: 'POST',
      key: b.apiKey,
      json: mailBody({ batch_id: bBatchId, mail_settings: { sandbox_mode: { enable: true } } }),
    });
    assert.equal(res.status, 200);
  });
});

describe("A's view afterwards", () => {
  test("A still sees exactly its own messages, captures and keys", async () => {
    assert.deepEqual(await viewOfA(), aViewBefore);
    assert.equal(aViewBefore.messages.length, 2);
    assert.ok(aViewBefore.messages.every((m) => m.startsWith(aRequestId) && m.endsWith(' delivered')));
    for (const id of aMessageIds) assert.equal((await herald.api(`/v3/messages/${id}`, { key: a.apiKey })).status, 200);
    for (const entry of aInbox) {
      assert.equal((await herald.api(`/v1/inbox/${entry.id}`, { key: a.apiKey })).status, 200);
      const raw = await herald.api(`/v1/inbox/${entry.id}/raw`, { key: a.apiKey });
      assert.equal(raw.status, 200);
      assert.match(await raw.text(), /Subject: for A only/);
    }
  });

  test("A cannot see B's messages either", async () => {
    assert.deepEqual(await messagesOf(a.apiKey, `msg_id LIKE '${bRequestId}%'`), []);
    await expectNotFound(await herald.api(`/v3/messages/${bRequestId}.0`, { key: a.apiKey }));
  });
});
