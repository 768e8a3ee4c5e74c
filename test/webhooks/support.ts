import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { defaultConfig } from '../../src/config/settings.js';
import type { Backend } from '../../src/backends/backend.js';
import { WebhookDispatcher, type DispatcherClock, type WebhookSettings } from '../../src/webhooks/webhook-dispatcher.js';
import { WebhookMetrics } from '../../src/webhooks/webhook-metrics.js';
import { Registry } from 'prom-client';
import type { WebhookEventType } from '../../src/webhooks/webhook-events.js';

/** One request a receiver got. */
export interface Received {
  headers: IncomingMessage['headers'];
  /** The body exactly as sent. */
  raw: string;
  events: Record<string, unknown>[];
  /** The status the receiver answered with (set when the answer is finished). */
  status: number | null;
}

/** What a receiver does with a request; default 200. */
export type Behaviour = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** A real HTTP endpoint on 127.0.0.1, port 0, recording what it is sent. */
export interface Receiver {
  url: string;
  received: Received[];
  /** Every event received, in order, duplicates included. */
  events(): Record<string, unknown>[];
  /** The sg_event_ids of requests answered 2xx, in order. */
  accepted(): string[];
  behave(b: Behaviour): void;
  close(): Promise<void>;
}

export async function startReceiver(behaviour: Behaviour = (_req, res) => res.end('ok')): Promise<Receiver> {
  let behave = behaviour;
  const received: Received[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let events: Record<string, unknown>[] = [];
      try {
        events = JSON.parse(raw) as Record<string, unknown>[];
      } catch {
        // recorded as sent
      }
      const got: Received = { headers: req.headers, raw, events, status: null };
      received.push(got);
      res.on('finish', () => (got.status = res.statusCode));
      behave(req, res, n++);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    events: () => received.flatMap((r) => r.events),
    accepted: () => received.filter((r) => r.status !== null && r.status >= 200 && r.status < 300).flatMap((r) => r.events.map((e) => String(e.sg_event_id))),
    behave(b) {
      behave = b;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A clock that moves only when told: the dispatcher's waits and retry times follow it. */
export class ManualClock implements DispatcherClock {
  constructor(public ms = Date.UTC(2026, 0, 1)) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
  setTimeout(): unknown {
    return null;
  }
  clearTimeout(): void {}
}

/** Dispatcher settings for tests: loopback allowed, short timeouts, no batching delay unless asked. */
export function testSettings(overrides: Partial<WebhookSettings> = {}): WebhookSettings {
  return { ...defaultConfig(), webhookAllowPrivateTargets: true, webhookBatchWaitMs: 0, webhookConnectTimeoutMs: 2000, webhookResponseTimeoutMs: 2000, ...overrides };
}

export const ALL_TYPES: WebhookEventType[] = ['processed', 'delivered', 'deferred', 'bounce', 'dropped', 'open', 'click', 'unsubscribe', 'group_unsubscribe', 'group_resubscribe', 'spam_report'];

export function newDispatcher(backend: Backend, clock: ManualClock, settings: WebhookSettings, owner?: string): { dispatcher: WebhookDispatcher; metrics: WebhookMetrics; registry: Registry } {
  const registry = new Registry();
  const metrics = new WebhookMetrics(registry, backend.webhooks, clock.now);
  const dispatcher = new WebhookDispatcher({
    events: backend.events,
    activity: backend.activity,
    store: backend.webhooks,
    settings,
    log: pino({ level: 'silent' }),
    metrics,
    clock,
    random: () => 0.5,
    ...(owner ? { owner } : {}),
  });
  return { dispatcher, metrics, registry };
}
