import type { FastifyBaseLogger, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { AccountStore, ApiKeyRecord } from '../accounts/account-store.js';
import { authenticate } from '../accounts/api-keys.js';
import type { Scope } from '../accounts/scopes.js';
import { HeraldError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey: ApiKeyRecord | null;
  }
}

/**
 * `Authorization: Bearer SG....`; 401 when absent or unknown, 403 when the key lacks `scope` (or,
 * given a list, every scope of it: SendGrid lets either of two scopes open some endpoints).
 * Runs as an onRequest hook, before the body is read: a caller without a key cannot make Herald
 * buffer or parse anything.
 */
export function requireScope(accounts: AccountStore, scope: Scope | readonly Scope[]): onRequestAsyncHookHandler {
  const accepted: readonly Scope[] = typeof scope === 'string' ? [scope] : scope;
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
    if (!match) {
      throw new HeraldError('HERALD_ERR_UNAUTHORIZED', { message: 'Permission denied, wrong credentials: send an API key as "Authorization: Bearer <key>".' });
    }
    const key = await authenticate(accounts, match[1]!);
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
