import { pino } from 'pino';
import type { Backend } from '../../src/backends/backend.js';
import { expandRequest } from '../../src/message/expand.js';
import { parseMailSend } from '../../src/message/sendgrid-payload.js';
import type { AcceptedRequest } from '../../src/message/mail-request.js';
import { newEventId, type HeraldEvent } from '../../src/events/event.js';
import { StatsProjector, type StatsProjectorOptions } from '../../src/stats/stats-projector.js';
import { GLOBAL_METRICS, type StatsMetric } from '../../src/stats/metrics.js';
import type { StatsDimension } from '../../src/stats/stats-store.js';
import { mailBody } from '../support/test-herald.js';

export const DAY_MS = 86_400_000;

/** A request of one message per recipient, accepted at `at` (epoch ms). */
export function accepted(accountId: string, recipients: string[], extra: Record<string, unknown> = {}, at = Date.now()): AcceptedRequest {
  const body = mailBody({ personalizations: [{ to: recipients.map((email) => ({ email })) }], ...extra });
  return expandRequest(parseMailSend(body, at), { accountId, apiKeyId: null, nowMs: at, maxAgeMs: 3_600_000 });
}

type Without<T> = T extends unknown ? Omit<T, 'id' | 'accountId' | 'messageId' | 'email'> : never;

/** An event of the request's `index`th message. */
export function eventOf(a: AcceptedRequest, index: number, fields: Without<HeraldEvent>): HeraldEvent {
  const m = a.messages[index]!;
  return { id: newEventId(), accountId: m.accountId, messageId: m.id, email: m.recipient, ...fields } as HeraldEvent;
}

export const who = { useragent: 'Mozilla/5.0', ip: '203.0.113.9' };

export function projectorFor(backend: Backend, options: StatsProjectorOptions = {}): StatsProjector {
  return new StatsProjector(backend.events, backend.activity, backend.stats, pino({ level: 'silent' }), options);
}

/** Sum of each metric of one name over a day range, every metric listed. */
export async function totals(backend: Backend, accountId: string, dimension: StatsDimension, name: string, fromDay = 0, toDay = 1_000_000): Promise<Record<StatsMetric, number>> {
  const out = Object.fromEntries([...GLOBAL_METRICS, 'drops'].map((m) => [m, 0])) as Record<StatsMetric, number>;
  for (const c of await backend.stats.read({ accountId, dimension, names: [name], fromDay, toDay })) out[c.metric] += c.count;
  return out;
}

/** Only the metrics that are not 0, for compact assertions. */
export function nonZero(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => v !== 0));
}
