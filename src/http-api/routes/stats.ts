import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';
import { requireScope, accountOf } from '../auth.js';
import { HeraldError } from '../../errors.js';
import { GLOBAL_METRICS, PROVIDER_METRICS, isStatsMetric } from '../../stats/metrics.js';
import { MAILBOX_PROVIDERS, findMailboxProvider } from '../../stats/mailbox-providers.js';
import { dayOf, type StatsDimension } from '../../stats/stats-store.js';
import { bucketsOf, dateOf, many, parseNames, parseRange, single, sumIntoBuckets, type StatsRange } from '../../stats/stats-request.js';
import type { StatsMetric } from '../../stats/metrics.js';

type Query = Record<string, string | string[] | undefined>;

/** A whole number parameter in [min, max], or its default. */
function integer(query: Query, field: string, fallback: number, min: number, max: number): number {
  const text = single(field, query[field]);
  if (text === undefined || text === '') return fallback;
  const n = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field, message: `${field} must be a whole number from ${min} to ${max}.` });
  return n;
}

/**
 * SendGrid's Stats API (api-reference/stats, categories, mailbox providers): counters kept by the
 * stats projector, summed per day, ISO week or month. Every date of the range is listed, with
 * zeros where nothing happened. Stats lag the event log by up to about a second.
 */
export function statsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { backend } = ctx;
  const today = () => dayOf(Date.now());

  async function series(accountId: string, range: StatsRange, dimension: StatsDimension, names: readonly string[] | null, metrics: readonly StatsMetric[]) {
    const counters = await backend.stats.read({ accountId, dimension, names, fromDay: range.fromDay, toDay: range.toDay });
    const listed = names ?? [...new Set(counters.map((c) => c.name))];
    const buckets = bucketsOf(range);
    return { buckets, listed, sums: sumIntoBuckets(counters, buckets, dimension === 'global' ? [''] : listed, metrics) };
  }

  app.get<{ Querystring: Query }>('/v3/stats', { onRequest: requireScope(backend.accounts, ['stats.global.read', 'stats.read']) }, async (request) => {
    const range = parseRange(request.query, today());
    const { buckets, sums } = await series(accountOf(request), range, 'global', null, GLOBAL_METRICS);
    const row = sums.get('')!;
    return buckets.map((b, i) => ({ date: b.date, stats: [{ metrics: row[i]! }] }));
  });

  app.get<{ Querystring: Query }>('/v3/categories/stats', { onRequest: requireScope(backend.accounts, 'categories.stats.read') }, async (request) => {
    const range = parseRange(request.query, today());
    const names = parseNames('categories', many(request.query.categories), true);
    const { buckets, sums } = await series(accountOf(request), range, 'category', names, GLOBAL_METRICS);
    return buckets.map((b, i) => ({ date: b.date, stats: names.map((name) => ({ metrics: sums.get(name)![i]!, name, type: 'category' })) }));
  });

  // The sum of each metric per category over the whole range, sorted and paged (SendGrid: limit 5 by default).
  app.get<{ Querystring: Query }>('/v3/categories/stats/sums', { onRequest: requireScope(backend.accounts, 'categories.stats.sums.read') }, async (request) => {
    const query = request.query;
    const range = parseRange(query, today());
    const sortBy = single('sort_by_metric', query.sort_by_metric) ?? 'delivered';
    if (!isStatsMetric(sortBy) || !GLOBAL_METRICS.includes(sortBy)) {
      throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'sort_by_metric', message: `sort_by_metric must be one of ${GLOBAL_METRICS.join(', ')}.` });
    }
    const direction = single('sort_by_direction', query.sort_by_direction) ?? 'desc';
    if (direction !== 'asc' && direction !== 'desc') throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'sort_by_direction', message: 'sort_by_direction must be asc or desc.' });
    const limit = integer(query, 'limit', 5, 1, 500);
    const offset = integer(query, 'offset', 0, 0, 1_000_000);
    // One bucket over the whole range: aggregated_by is checked above but changes nothing here.
    const { listed, sums } = await series(accountOf(request), { ...range, aggregatedBy: 'day' }, 'category', null, GLOBAL_METRICS);
    const totals = listed.map((name) => {
      const metrics = Object.fromEntries(GLOBAL_METRICS.map((m) => [m, 0])) as Record<string, number>;
      for (const day of sums.get(name)!) for (const m of GLOBAL_METRICS) metrics[m]! += day[m]!;
      return { metrics, name, type: 'category' };
    });
    const sign = direction === 'asc' ? 1 : -1;
    totals.sort((a, b) => sign * (a.metrics[sortBy]! - b.metrics[sortBy]!) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { date: dateOf(range.fromDay), stats: totals.slice(offset, offset + limit) };
  });

  app.get<{ Querystring: Query }>('/v3/mailbox_providers/stats', { onRequest: requireScope(backend.accounts, 'mailbox_providers.stats.read') }, async (request) => {
    const range = parseRange(request.query, today());
    const asked = parseNames('mailbox_providers', many(request.query.mailbox_providers), false).map((name) => {
      const known = findMailboxProvider(name);
      if (!known) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'mailbox_providers', message: `Unknown mailbox provider ${JSON.stringify(name)}; known: ${MAILBOX_PROVIDERS.join(', ')}.` });
      return known;
    });
    const { buckets, listed, sums } = await series(accountOf(request), range, 'mailbox_provider', asked.length > 0 ? [...new Set(asked)] : null, PROVIDER_METRICS);
    // Without a list, every provider the account sent to in the range, in the table's order.
    const names = asked.length > 0 ? [...new Set(asked)] : MAILBOX_PROVIDERS.filter((p) => listed.includes(p));
    return buckets.map((b, i) => ({ date: b.date, stats: names.map((name) => ({ type: 'mailbox_provider', name, metrics: sums.get(name)![i]! })) }));
  });
}
