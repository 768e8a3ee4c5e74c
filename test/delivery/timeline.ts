import assert from 'node:assert/strict';
import { eventually, mailBody, type TestHerald } from '../support/test-herald.js';

/** One entry of a message's timeline, as GET /v3/messages/:id returns it (SendGrid Email Activity). */
export interface TimelineEvent {
  event_name: string;
  processed: string;
  reason: string | null;
  attempt_num: number;
  bounce_type: string | null;
  mx_server: string | null;
  response: string | null;
}

export interface Timeline {
  msg_id: string;
  status: string;
  to_email: string;
  categories: string[];
  unique_args: string;
  events: TimelineEvent[];
}

/** Sends `body` (a minimal valid one by default) and returns the X-Message-Id and one msg_id per recipient. */
export async function send(herald: TestHerald, body: Record<string, unknown> = mailBody()): Promise<{ requestId: string; msgIds: string[] }> {
  const res = await herald.api('/v3/mail/send', { method: 'POST', json: body });
  assert.equal(res.status, 202, `mail send answered ${res.status}: ${await res.text()}`);
  const requestId = res.headers.get('x-message-id');
  assert.ok(requestId, 'a 202 carries X-Message-Id');
  const personalizations = body.personalizations as { to?: unknown[]; cc?: unknown[]; bcc?: unknown[] }[];
  const count = personalizations.reduce((n, p) => n + (p.to?.length ?? 0) + (p.cc?.length ?? 0) + (p.bcc?.length ?? 0), 0);
  return { requestId, msgIds: Array.from({ length: count }, (_, i) => `${requestId}.${i}`) };
}

export async function timeline(herald: TestHerald, msgId: string): Promise<Timeline> {
  const res = await herald.api(`/v3/messages/${encodeURIComponent(msgId)}`);
  assert.equal(res.status, 200, `GET /v3/messages/${msgId} answered ${res.status}`);
  return (await res.json()) as Timeline;
}

/** Waits until the message's timeline holds an event named `eventName` (Activity names: processed, deferred, delivered, bounced). */
export async function waitForEvent(herald: TestHerald, msgId: string, eventName: string, timeoutMs = 20_000): Promise<{ timeline: Timeline; event: TimelineEvent }> {
  return eventually(
    async () => {
      const t = await timeline(herald, msgId);
      const event = t.events.find((e) => e.event_name === eventName);
      return event ? { timeline: t, event } : undefined;
    },
    timeoutMs,
    `a ${eventName} event for ${msgId}`,
  );
}

/**
 * Herald still answers, and nothing it accepted vanished: every message has a final status or is
 * still in the queue (DESIGN.md principle 1).
 */
export async function assertHealthyAndAccounted(herald: TestHerald, msgIds: string[]): Promise<void> {
  const health = await fetch(`${herald.url}/healthz`);
  assert.equal(health.status, 200, 'GET /healthz answers 200');
  let pending = 0;
  for (const id of msgIds) {
    const t = await timeline(herald, id);
    assert.ok(['processed', 'delivered', 'not_delivered'].includes(t.status), `status of ${id} is ${t.status}`);
    assert.equal(t.events[0]?.event_name, 'processed', `${id} starts with processed`);
    if (t.status === 'processed') pending++;
  }
  const depth = await herald.backend.queue.depth();
  assert.ok(depth.ready + depth.scheduled + depth.leased >= pending, `${pending} messages without a final state, queue holds ${JSON.stringify(depth)}`);
}
