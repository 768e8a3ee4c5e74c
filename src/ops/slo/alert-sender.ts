import type { Logger } from 'pino';
import type { PayloadSigner } from './alert-signer.js';

export interface AlertSenderOptions {
  /** Attempts per endpoint and alert, the first included. Default 6. */
  attempts?: number;
  /** Wait before the first retry, ms; each further one doubles (with jitter), up to 5 minutes. Default 1000. */
  retryBaseMs?: number;
  /** Time one attempt has to be answered, ms. Default 10 000. */
  timeoutMs?: number;
  /** Most deliveries waiting for a retry at once; past it the oldest is given up (logged). Default 1000. */
  maxPending?: number;
}

/** Outcome of one alert to one endpoint, for logs and tests. */
export interface AlertDelivery {
  url: string;
  ok: boolean;
  attempts: number;
  status: number | null;
}

const MAX_DELAY_MS = 5 * 60 * 1000;

/**
 * Posts alert payloads to every configured endpoint, signed by the injected signer, retrying a
 * failed delivery (network error, timeout, 408, 429, 5xx) with exponential backoff a bounded
 * number of times. Another 4xx is the receiver refusing: not retried.
 */
export class AlertSender {
  private readonly attempts: number;
  private readonly retryBaseMs: number;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly inFlight = new Set<Promise<AlertDelivery>>();
  private readonly abortWaits = new Set<() => void>();
  private stopped = false;
  private readonly stopping = new AbortController();
  private waiting = 0;

  constructor(
    private readonly urls: readonly string[],
    private readonly signer: PayloadSigner,
    private readonly log: Logger,
    options: AlertSenderOptions = {},
  ) {
    this.attempts = options.attempts ?? 6;
    this.retryBaseMs = options.retryBaseMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxPending = options.maxPending ?? 1000;
  }

  /** Sends `payload` to every endpoint; resolves when each has succeeded or given up. */
  send(payload: string): Promise<AlertDelivery[]> {
    return Promise.all(
      this.urls.map((url) => {
        const delivery = this.deliver(url, payload);
        this.inFlight.add(delivery);
        void delivery.finally(() => this.inFlight.delete(delivery));
        return delivery;
      }),
    );
  }

  /** Stops: attempts under way are aborted and deliveries waiting for a retry give up. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    for (const abort of [...this.abortWaits]) abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private async deliver(url: string, payload: string): Promise<AlertDelivery> {
    let status: number | null = null;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (this.stopped) break;
      let retry = true;
      try {
        // Signed afresh each attempt: the timestamp says when this request was sent.
        const { signature, timestamp } = this.signer(payload);
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Herald SLO alerts',
            'x-twilio-email-event-webhook-signature': signature,
            'x-twilio-email-event-webhook-timestamp': timestamp,
          },
          body: payload,
          redirect: 'manual',
          signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.stopping.signal]),
        });
        status = response.status;
        await response.body?.cancel().catch(() => {});
        if (status >= 200 && status < 300) return { url, ok: true, attempts: attempt, status };
        retry = status >= 500 || status === 408 || status === 429;
        this.log.warn({ url: redactUrl(url), status, attempt }, 'SLO alert webhook refused the alert');
      } catch (error) {
        status = null;
        this.log.warn({ url: redactUrl(url), err: { message: (error as Error).message }, attempt }, 'SLO alert webhook unreachable');
      }
      if (!retry || attempt === this.attempts) break;
      if (!(await this.wait(Math.min(MAX_DELAY_MS, this.retryBaseMs * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4)))) break;
    }
    this.log.error({ url: redactUrl(url), status }, 'SLO alert could not be delivered; giving up');
    return { url, ok: false, attempts: this.attempts, status };
  }

  /** Waits `ms`; false when stopped (or too many wait) instead. */
  private wait(ms: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (this.waiting >= this.maxPending) return Promise.resolve(false);
    this.waiting++;
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.abortWaits.delete(abort);
        this.waiting--;
        resolve(value);
      };
      const abort = () => done(false);
      const timer = setTimeout(() => done(true), ms);
      timer.unref();
      this.abortWaits.add(abort);
    });
  }
}

/** Endpoint URLs may carry credentials in their user part or query: logs show scheme, host and path. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
