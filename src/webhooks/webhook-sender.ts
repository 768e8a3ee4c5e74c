import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkTarget, TargetRefused, type Resolve, systemResolve } from './webhook-target.js';

export interface SendLimits {
  /** Time to open the TCP (and TLS) connection, ms. */
  connectTimeoutMs: number;
  /** Time from the request's start to the end of the (capped) response, ms. */
  responseTimeoutMs: number;
  /** Response bytes read at most; the rest is never buffered, the connection is closed. */
  maxResponseBytes: number;
  /** Let endpoints resolve to private, loopback and other reserved addresses. */
  allowPrivateTargets: boolean;
}

export interface SendOutcome {
  /** 2xx: SendGrid counts any 2xx as received. */
  ok: boolean;
  /** The HTTP status, null when none came back. */
  status: number | null;
  /** What went wrong, for the deliveries log (never the response body). */
  error: string | null;
  /** The first bytes of the response, up to maxResponseBytes. */
  body: string;
}

/**
 * One POST of a webhook batch. The host is resolved and checked here again, at send time, and the
 * connection goes to the checked address only (a lookup that answers with it), so a name that
 * changes its answer after the check (DNS rebinding) cannot reach a refused address. Redirects
 * are never followed: a 3xx is a failed attempt like any other non-2xx. TLS still verifies the
 * certificate against the URL's host name (SNI and the check use the name, not the address).
 */
export async function postWebhook(rawUrl: string, body: Buffer, headers: Record<string, string>, limits: SendLimits, resolve: Resolve = systemResolve): Promise<SendOutcome> {
  let target;
  try {
    target = await checkTarget(rawUrl, limits.allowPrivateTargets, resolve);
  } catch (error) {
    if (error instanceof TargetRefused) return { ok: false, status: null, error: `refused: ${error.message}`, body: '' };
    throw error;
  }
  const { url, address, family } = target;
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const auth = url.username ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined;
  const request = (url.protocol === 'https:' ? https : http).request;
  return new Promise<SendOutcome>((resolvePromise) => {
    let settled = false;
    const finish = (outcome: SendOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      clearTimeout(connecting);
      req.destroy();
      resolvePromise(outcome);
    };
    const req = request({
      protocol: url.protocol,
      hostname: target.host,
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      lookup: pinned,
      ...(auth ? { auth } : {}),
      // A fresh connection per batch: a pooled one could outlive the address check.
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length), 'user-agent': 'Herald-Event-Webhook', ...headers },
    });
    const overall = setTimeout(() => finish({ ok: false, status: null, error: `no complete response within ${limits.responseTimeoutMs} ms`, body: '' }), limits.responseTimeoutMs);
    const connecting = setTimeout(() => finish({ ok: false, status: null, error: `no connection within ${limits.connectTimeoutMs} ms`, body: '' }), limits.connectTimeoutMs);
    req.on('socket', (socket) => {
      const connected = (): void => clearTimeout(connecting);
      // Over TLS the connection counts once the handshake is done; a TLS socket's `connecting`
      // says nothing about it.
      if (url.protocol === 'https:') socket.once('secureConnect', connected);
      else if (!socket.connecting) connected();
      else socket.once('connect', connected);
    });
    req.on('error', (error) => finish({ ok: false, status: null, error: error.message, body: '' }));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (): void => {
        const text = Buffer.concat(chunks).toString('utf8');
        const ok = status >= 200 && status < 300;
        finish({ ok, status, error: ok ? null : status >= 300 && status < 400 ? `redirect ${status} not followed` : `HTTP ${status}`, body: text });
      };
      res.on('data', (chunk: Buffer) => {
        const room = limits.maxResponseBytes - size;
        if (room > 0) chunks.push(chunk.subarray(0, room));
        size += chunk.length;
        // Enough read: the verdict is the status; the rest of a huge reply is not waited for.
        if (size >= limits.maxResponseBytes) done();
      });
      res.on('end', done);
      res.on('error', (error) => finish({ ok: false, status, error: error.message, body: '' }));
    });
    req.end(body);
  });
}
