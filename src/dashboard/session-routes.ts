import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../http-api/api-context.js';
import { HeraldError } from '../errors.js';
import { errorBody } from '../http-api/error-reply.js';
import { isPlainObject } from '../message/field-checks.js';
import { MAX_PASSWORD_LENGTH, verifyPassword } from './passwords.js';
import { CSRF_HEADER, csrfMatches, hashSessionId, sessionCookie, sessionFromCookie, startSession } from './sessions.js';
import { LoginLimiter } from './login-limiter.js';
import type { DashboardSession } from './dashboard-store.js';
import { normaliseEmail } from './users.js';

/** A sign-in body is an address and a password: a few hundred bytes. Anything past this is refused (413) unread. */
const SIGN_IN_BODY_LIMIT = 4096;

/** Over https the cookie is Secure. Behind a TLS-terminating proxy, its X-Forwarded-Proto says so (only ever makes the cookie stricter). */
function isHttps(request: FastifyRequest): boolean {
  const forwarded = request.headers['x-forwarded-proto'];
  return request.protocol === 'https' || (typeof forwarded === 'string' && forwarded.split(',')[0]!.trim().toLowerCase() === 'https');
}

function sessionJson(session: DashboardSession, accountName: string) {
  return { email: session.email, account: accountName, csrf_token: session.csrfToken, expires_at: new Date(session.expiresAt).toISOString() };
}

/**
 * `/v1/dashboard/session`: sign in (POST), who is signed in (GET), sign out (DELETE). The session
 * it sets authenticates every API route for the dashboard (src/http-api/auth.ts).
 */
export function sessionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { dashboard, accounts } = ctx.backend;
  const { config } = ctx;
  const byAddress = new LoginLimiter(config.dashboardLoginMaxFailures, config.dashboardLoginWindowMs);
  // Many people may sign in through one proxy or NAT address: a client IP gets four times the
  // failures an address does, so one guesser there does not lock the others out as quickly.
  const byClient = new LoginLimiter(config.dashboardLoginMaxFailures * 4, config.dashboardLoginWindowMs);
  // Expired sessions are removed now and then; until then `findSession` already ignores them.
  let lastSweep = 0;

  const accountName = async (id: string): Promise<string> => (await accounts.getAccount(id))?.name ?? '';

  app.post('/v1/dashboard/session', { bodyLimit: SIGN_IN_BODY_LIMIT }, async (request, reply) => {
    ctx.refuseWhenDraining();
    const body = request.body;
    if (!isPlainObject(body)) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: null, message: 'The request body must be a JSON object with email and password.' });
    const { email, password } = body;
    if (email === undefined || email === '') throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: 'email', message: 'email is required.' });
    if (password === undefined || password === '') throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: 'password', message: 'password is required.' });
    if (typeof email !== 'string' || email.length > 254) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'email', message: 'email must be a string of at most 254 characters.' });
    if (typeof password !== 'string' || password.length > MAX_PASSWORD_LENGTH) {
      throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'password', message: `password must be a string of at most ${MAX_PASSWORD_LENGTH} characters.` });
    }
    const address = email.trim().toLowerCase();
    const wait = Math.max(byAddress.lockedFor([address]), byClient.lockedFor([request.ip]));
    if (wait > 0) {
      const error = new HeraldError('HERALD_ERR_TOO_MANY_SIGN_INS');
      request.log.warn({ code: error.code }, 'dashboard sign-in refused: locked out');
      return reply.status(429).header('retry-after', String(Math.ceil(wait / 1000))).send(errorBody(error));
    }
    // An unknown address goes down the same path as a wrong password: verifyPassword hashes against
    // a decoy, and the error is the same (OWASP Authentication Cheat Sheet, "Authentication Responses").
    const normalised = normaliseEmail(email);
    const user = normalised === null ? null : await dashboard.findUserByEmail(normalised);
    const ok = await verifyPassword(password, user?.passwordHash ?? null);
    if (!ok || !user) {
      byAddress.fail([address]);
      byClient.fail([request.ip]);
      request.log.info({ code: 'HERALD_ERR_BAD_CREDENTIALS' }, 'dashboard sign-in failed');
      throw new HeraldError('HERALD_ERR_BAD_CREDENTIALS');
    }
    byAddress.succeed(address);
    const now = Date.now();
    if (now - lastSweep > 60_000) {
      lastSweep = now;
      await dashboard.deleteExpiredSessions(now);
    }
    const { id, session } = await startSession(dashboard, user, now, config.dashboardSessionTtlMs);
    request.log.info({ accountId: user.accountId, dashboardUserId: user.id }, 'dashboard sign-in');
    return reply
      .header('set-cookie', sessionCookie(id, Math.floor(config.dashboardSessionTtlMs / 1000), isHttps(request)))
      .header('cache-control', 'no-store')
      .send(sessionJson(session, await accountName(user.accountId)));
  });

  app.get('/v1/dashboard/session', async (request, reply) => {
    const found = await sessionFromCookie(dashboard, request.headers.cookie, Date.now());
    if (!found) throw new HeraldError('HERALD_ERR_UNAUTHORIZED', { message: 'Not signed in to the dashboard.' });
    return reply.header('cache-control', 'no-store').send(sessionJson(found.session, await accountName(found.session.accountId)));
  });

  app.delete('/v1/dashboard/session', async (request: FastifyRequest, reply: FastifyReply) => {
    const found = await sessionFromCookie(dashboard, request.headers.cookie, Date.now());
    if (found) {
      // Signing out is a change too: without the token, another site could sign the user out.
      if (!csrfMatches(found.session, request.headers[CSRF_HEADER])) throw new HeraldError('HERALD_ERR_CSRF');
      await dashboard.deleteSession(hashSessionId(found.id));
    }
    return reply.status(204).header('set-cookie', sessionCookie('', 0, isHttps(request))).send();
  });
}
