import type { FastifyBaseLogger, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { AccountStore, ApiKeyRecord } from '../accounts/account-store.js';
import { authenticate } from '../accounts/api-keys.js';
import type { Scope } from '../accounts/scopes.js';
import { HeraldError } from '../errors.js';
import { FULL_ACCESS_SCOPES } from '../accounts/scopes.js';
import type { DashboardSession, DashboardStore } from '../dashboard/dashboard-store.js';
import { CSRF_HEADER, csrfMatches, isSafeMethod, sessionFromCookie } from '../dashboard/sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey: ApiKeyRecord | null;
    /** The dashboard session that authenticated this request, when it came from the dashboard. */
    dashboardSession: DashboardSession | null;
  }
  interface FastifyInstance {
    /** Where dashboard sessions live; null where the dashboard is off (then only API keys authenticate). */
    dashboardStore: DashboardStore | null;
  }
}

/**
 * What a dashboard session acts as: a full-access key of the session's account (a dashboard user
 * administers the account; the operator-only scopes, such as `slo.read`, stay with operators' keys). Its id names the user, so messages sent from the dashboard show
 * who sent them in `api_key_id`.
 */
export function sessionKey(session: DashboardSession): ApiKeyRecord {
  return { id: `dashboard:${session.userId}`, accountId: session.accountId, name: `dashboard ${session.email}`, scopes: [...FULL_ACCESS_SCOPES], secretHash: '', createdAt: session.createdAt };
}

/**
 * The dashboard's session cookie in place of an API key. A request that changes something must
 * also carry the session's CSRF token (synchronizer token pattern): the cookie alone is what a
 * forged cross-site request would carry too, were SameSite=Strict ever bypassed.
 */
async function authenticateSession(request: FastifyRequest): Promise<ApiKeyRecord | null> {
  const store = request.server.dashboardStore;
  if (!store || request.headers.cookie === undefined) return null;
  const found = await sessionFromCookie(store, request.headers.cookie, Date.now());
  if (!found) throw new HeraldError('HERALD_ERR_UNAUTHORIZED', { message: 'The dashboard session has expired or was signed out: sign in again.' });
  if (!isSafeMethod(request.method) && !csrfMatches(found.session, request.headers[CSRF_HEADER])) throw new HeraldError('HERALD_ERR_CSRF');
  request.dashboardSession = found.session;
  return sessionKey(found.session);
}

/**
 * `Authorization: Bearer SG....`, or the dashboard's session cookie (with `X-CSRF-Token` on
 * requests that change something); 401 when absent or unknown, 403 when the key lacks `scope` (or,
 * given a list, any scope of it: SendGrid lets either of two scopes open some endpoints).
 * Runs as an onRequest hook, before the body is read: a caller without a key cannot make Herald
 * buffer or parse anything.
 */
export function requireScope(accounts: AccountStore, scope: Scope | readonly Scope[]): onRequestAsyncHookHandler {
  const accepted: readonly Scope[] = typeof scope === 'string' ? [scope] : scope;
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
    // A bearer key wins over a cookie: browsers never attach Authorization by themselves.
    const key = match ? await authenticate(accounts, match[1]!) : header === undefined ? await authenticateSession(request) : null;
    if (!match && !key) {
      throw new HeraldError('HERALD_ERR_UNAUTHORIZED', { message: 'Permission denied, wrong credentials: send an API key as "Authorization: Bearer <key>".' });
    }
    if (!key) throw new HeraldError('HERALD_ERR_UNAUTHORIZED');
    if (!accepted.some((s) => key.scopes.includes(s))) {
      throw new HeraldError('HERALD_ERR_FORBIDDEN', { message: `access forbidden: this API key lacks the ${accepted.join(' or ')} scope` });
    }
    request.apiKey = key;
    // The request's logger names the account and key. A pino child costs more than a request that
    // logs nothing (logLevel warn, or a request that goes well) needs: it is made when first used.
    const parent = request.log;
    let child: FastifyBaseLogger | undefined;
    Object.defineProperty(request, 'log', {
      configurable: true,
      enumerable: true,
      get: () => (child ??= parent.child({ accountId: key.accountId, apiKeyId: key.id })),
      set: (value: FastifyBaseLogger) => {
        child = value;
      },
    });
  };
}

/** The account of the authenticated key: every route reads and writes only within it. */
export function accountOf(request: FastifyRequest): string {
  if (!request.apiKey) throw new HeraldError('HERALD_ERR_UNAUTHORIZED');
  return request.apiKey.accountId;
}
