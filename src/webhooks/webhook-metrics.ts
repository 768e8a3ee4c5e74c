import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { WebhookStore } from './webhook-store.js';

/**
 * Event Webhook metrics. Labels are outcomes only: nothing per endpoint or per account, whose
 * number is unbounded (one time series each would grow with every customer). Lag is one gauge,
 * the age of the oldest event still waiting for any enabled endpoint: it says "some endpoint is
 * behind" and how far; `GET /v1/webhooks/{id}/deliveries` then says which and why.
 */
export class WebhookMetrics {
  readonly events: Counter<'outcome'>;
  readonly batches: Counter<'outcome'>;
  readonly postSeconds: Histogram<'outcome'>;

  constructor(registry: Registry, store: WebhookStore, now: () => number = Date.now) {
    this.events = new Counter({
      name: 'herald_webhook_events_total',
      help: 'Events by webhook outcome: enqueued (for one endpoint), delivered, dropped (retried past webhookRetryWindowMs).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.batches = new Counter({
      name: 'herald_webhook_batches_total',
      help: 'Event Webhook POSTs by outcome: delivered (2xx), failed (retried later), dropped.',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.postSeconds = new Histogram({
      name: 'herald_webhook_post_duration_seconds',
      help: 'Time of an Event Webhook POST, from connect to the end of the reply, by outcome.',
      labelNames: ['outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    new Gauge({
      name: 'herald_webhook_oldest_waiting_age_seconds',
      help: 'Age of the oldest event waiting for any enabled Event Webhook endpoint (0 when none): the webhook lag.',
      registers: [registry],
      async collect() {
        const oldest = await store.oldestWaiting();
        this.set(oldest === null ? 0 : Math.max(0, (now() - oldest) / 1000));
      },
    });
  }
}
