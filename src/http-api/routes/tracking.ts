import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../api-context.js';
import { decodeToken, type TokenKind, type TrackingToken } from '../../tracking/tracking-token.js';
import { isMachineOpen } from '../../tracking/machine-open.js';
import { PAGE_HEADERS, confirmPage, problemPage, resubscribedPage, unsubscribedPage } from '../../tracking/pages.js';
import type { EngagementEvent } from '../../events/event.js';
import type { MessageSummary } from '../../events/event-log.js';

/** A transparent 1×1 GIF (GIF89a with a transparent colour). */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Largest form body taken by the unsubscribe endpoints: RFC 8058's is 26 bytes. */
const MAX_FORM_BYTES = 16 * 1024;

/**
 * Identical hits (same link, address and user agent) within this window are one event: a request
 * retried by a proxy or fetched twice while a message renders. Any other hit counts, as SendGrid
 * counts every open and click.
 */
const SAME_HIT_WINDOW_MS = 2000;

type TokenParams = { Params: { token: string } };

/**
 * What links in mail point to (the `tracking` role): `/o/TOKEN` the open pixel, `/c/TOKEN` a
 * click that redirects to the link that was in the message, `/u/TOKEN` unsubscribing (RFC 8058
 * one-click POST, and a confirm page on GET). A token that does not verify never redirects: it
 * gets a 404 page and a log line.
 */
export function trackingRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { backend, config } = ctx;

  const verify = async (request: FastifyRequest<TokenParams>, kind: TokenKind): Promise<TrackingToken | null> => {
    const decoded = decodeToken(await ctx.signingKeys(), request.params.token, kind, config.trackingTokenMaxAgeS, Date.now());
    if (typeof decoded === 'string') {
      request.log.info({ kind, reason: decoded, ip: request.ip }, 'tracking link refused');
      return null;
    }
    return decoded;
  };
  const message = async (token: TrackingToken): Promise<MessageSummary | null> =>
    (await backend.activity.lookupMessages(token.accountId, [token.messageId])).get(token.messageId) ?? null;
  const refuse = (reply: FastifyReply, status = 404, title = 'Link not valid', text = 'This link is not valid or has expired.') =>
    reply.status(status).headers({ ...PAGE_HEADERS, 'x-herald-error': 'HERALD_ERR_INVALID_LINK' }).send(problemPage(title, text));
  const who = (request: FastifyRequest) => ({
    useragent: (typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : '').slice(0, 1024) || null,
    ip: request.ip ?? null,
  });
  /** Stable over retries of one hit: see SAME_HIT_WINDOW_MS. */
  const hitId = (kind: string, token: string, w: { useragent: string | null; ip: string | null }, now: number): string =>
    createHash('sha256').update(`${kind}\n${token}\n${w.ip ?? ''}\n${w.useragent ?? ''}\n${Math.floor(now / SAME_HIT_WINDOW_MS)}`).digest().subarray(0, 16).toString('base64url');
  const record = async (request: FastifyRequest, events: EngagementEvent[]): Promise<boolean> => {
    try {
      await backend.engagement.record(events);
      return true;
    } catch (error) {
      request.log.error({ err: error, type: events[0]?.type }, 'could not record an engagement event');
      return false;
    }
  };

  app.register(async (scope) => {
    // RFC 8058 §3.1: the one-click POST is a form, urlencoded or multipart. Only these routes take forms.
    scope.addContentTypeParser(['application/x-www-form-urlencoded', 'multipart/form-data'], { parseAs: 'buffer', bodyLimit: MAX_FORM_BYTES }, (_request, body, done) => done(null, body));

    scope.get<TokenParams>('/o/:token', async (request, reply) => {
      const token = await verify(request, 'open');
      if (!token) return refuse(reply);
      // HEAD (link checkers, proxies probing) answers the same but counts nothing.
      const found = request.method === 'GET' ? await message(token) : null;
      if (found) {
        const w = who(request);
        const now = Date.now();
        await record(request, [
          { type: 'open', id: hitId('open', request.params.token, w, now), accountId: token.accountId, messageId: token.messageId, email: found.toEmail, timestamp: now, ...w, machineOpen: isMachineOpen(w.useragent, w.ip) },
        ]);
      }
      // The image is shown whatever happened: a failed count must not break the message.
      return reply.headers({ 'content-type': 'image/gif', 'cache-control': 'no-store, no-cache, must-revalidate, max-age=0', pragma: 'no-cache' }).send(PIXEL);
    });

    scope.get<TokenParams>('/c/:token', async (request, reply) => {
      const token = await verify(request, 'click');
      if (!token || token.kind !== 'click') return refuse(reply);
      const found = request.method === 'GET' ? await message(token) : null;
      if (found) {
        const w = who(request);
        const now = Date.now();
        await record(request, [
          { type: 'click', id: hitId('click', request.params.token, w, now), accountId: token.accountId, messageId: token.messageId, email: found.toEmail, timestamp: now, ...w, url: token.url, urlOffset: { index: token.index, type: token.part } },
        ]);
      }
      // Only ever to the link the token signs. Printable ASCII goes as it was written; anything
      // else is percent-encoded by the URL parser (a header cannot carry it raw).
      const location = /^[\x21-\x7e]+$/.test(token.url) ? token.url : new URL(token.url).href;
      return reply.status(302).headers({ location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).send();
    });

    scope.get<TokenParams>('/u/:token', async (request, reply) => {
      const target = await unsubscribeTarget(request);
      if (!target) return refuse(reply);
      const { email, group, groupId, accountId } = target;
      const match = await backend.suppressions.find(accountId, email, groupId);
      const listed = groupId !== null ? match?.list === 'group' : match?.list === 'unsubscribes';
      if (listed) return reply.headers(PAGE_HEADERS).send(unsubscribedPage(email, group, `${request.params.token}/resubscribe`, ''));
      return reply.headers(PAGE_HEADERS).send(confirmPage(email, group));
    });

    // RFC 8058 §3.2: POST with List-Unsubscribe=One-Click; answered at once, without a redirect.
    scope.post<TokenParams>('/u/:token', async (request, reply) => {
      const target = await unsubscribeTarget(request);
      if (!target) return refuse(reply);
      if (!isOneClick(request)) return refuse(reply, 400, 'Bad request', 'An unsubscribe request carries List-Unsubscribe=One-Click as a form (RFC 8058).');
      const { email, group, groupId, accountId, token } = target;
      const w = who(request);
      const now = Date.now();
      const base = { id: hitId('unsubscribe', request.params.token, w, now), accountId, messageId: token.messageId, email, timestamp: now, ...w };
      const event: EngagementEvent = groupId !== null ? { ...base, type: 'group_unsubscribe', asmGroupId: groupId } : { ...base, type: 'unsubscribe' };
      if (!(await record(request, [event]))) return refuse(reply.header('retry-after', '5'), 503, 'Try again', 'The unsubscribe could not be saved just now; please try again in a moment.');
      request.log.info({ accountId, messageId: token.messageId, groupId }, 'recipient unsubscribed');
      const landing = (await backend.trackingSettings.get(accountId).catch(() => null))?.subscription.landing ?? '';
      return reply.headers(PAGE_HEADERS).send(unsubscribedPage(email, group, `${request.params.token}/resubscribe`, landing));
    });

    scope.post<TokenParams>('/u/:token/resubscribe', async (request, reply) => {
      const target = await unsubscribeTarget(request);
      if (!target) return refuse(reply);
      const { email, group, groupId, accountId, token } = target;
      if (groupId !== null) {
        const w = who(request);
        const now = Date.now();
        const ok = await record(request, [{ type: 'group_resubscribe', id: hitId('resubscribe', request.params.token, w, now), accountId, messageId: token.messageId, email, timestamp: now, ...w, asmGroupId: groupId }]);
        if (!ok) return refuse(reply.header('retry-after', '5'), 503, 'Try again', 'This could not be saved just now; please try again in a moment.');
      } else {
        // SendGrid has no event for leaving the global unsubscribe list: it is a suppression change.
        await backend.suppressions.remove(accountId, 'unsubscribes', [email]);
      }
      request.log.info({ accountId, messageId: token.messageId, groupId }, 'recipient resubscribed');
      return reply.headers(PAGE_HEADERS).send(resubscribedPage(email, group));
    });
  });

  async function unsubscribeTarget(request: FastifyRequest<TokenParams>) {
    const token = await verify(request, 'unsubscribe');
    if (!token) return null;
    const found = await message(token);
    if (!found) {
      request.log.info({ reason: 'message not found', messageId: token.messageId }, 'tracking link refused');
      return null;
    }
    const groupId = found.asmGroupId;
    const group = groupId !== null ? await backend.suppressions.getGroup(token.accountId, groupId) : null;
    return { token, accountId: token.accountId, email: found.toEmail, groupId, group };
  }
}

/** RFC 8058 §3.1: the body holds List-Unsubscribe=One-Click, urlencoded or as a multipart field. */
function isOneClick(request: FastifyRequest): boolean {
  const body = request.body;
  if (!Buffer.isBuffer(body)) return false;
  const type = String(request.headers['content-type'] ?? '').toLowerCase();
  const text = body.toString('utf8');
  if (type.startsWith('application/x-www-form-urlencoded')) return new URLSearchParams(text).getAll('List-Unsubscribe').includes('One-Click');
  // multipart/form-data (RFC 7578): a part named List-Unsubscribe whose content is One-Click.
  return /content-disposition:\s*form-data;\s*name="?List-Unsubscribe"?\s*\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/i.test(text);
}
