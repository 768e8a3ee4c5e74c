import assert from 'node:assert/strict';
import { simpleParser, type ParsedMail } from 'mailparser';
import { eventually, mailBody, type TestHerald } from '../support/test-herald.js';

export interface Sent {
  /** Herald's message id (`<request id>.0`). */
  id: string;
  raw: Buffer;
  mail: ParsedMail;
}

/** Sends one message to `to` through the API and returns it as the capture inbox received it. */
export async function sendAndCapture(h: TestHerald, to: string, extra: Record<string, unknown>, as?: { apiKey: string; accountId: string }): Promise<Sent> {
  const res = await h.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: [{ to: [{ email: to }] }], ...extra }), ...(as ? { key: as.apiKey } : {}) });
  assert.equal(res.status, 202, await res.text());
  const id = `${res.headers.get('x-message-id')}.0`;
  const account = as ? as.accountId : (await h.backend.accounts.findAccountByName('default'))!.id;
  const captured = await eventually(async () => {
    const hit = (await h.backend.inbox.list(account, { limit: 100, to })).find((m) => m.messageId === id);
    return hit ? (await h.backend.inbox.get(account, hit.id))! : undefined;
  }, 15_000, `message ${id} in the capture inbox`);
  return { id, raw: captured.raw, mail: await simpleParser(captured.raw) };
}

/** The hrefs of the <a> tags of an HTML body, in order. */
export function hrefs(html: string): string[] {
  return [...html.matchAll(/<a\b[^>]*?href="([^"]*)"/gi)].map((m) => m[1]!.replaceAll('&amp;', '&'));
}

/** The path and token of a tracking URL such as http://127.0.0.1:1234/c/TOKEN. */
export function tokenOf(url: string, kind: 'o' | 'c' | 'u'): string {
  const m = new RegExp(`/${kind}/([A-Za-z0-9_-]+)$`).exec(url);
  assert.ok(m, `${url} is not a /${kind}/ link`);
  return m[1]!;
}
