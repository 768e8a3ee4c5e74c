import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';
import { requireScope, accountOf } from '../auth.js';
import { HeraldError } from '../../errors.js';
import { createApiKey, readScopes } from '../../accounts/api-keys.js';
import { isPlainObject } from '../../message/field-checks.js';

/** SendGrid's API Keys endpoints. The secret appears once, in the answer to POST. */
export function apiKeyRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { accounts } = ctx.backend;

  app.post('/v3/api_keys', { onRequest: requireScope(accounts, 'api_keys.create') }, async (request, reply) => {
    const body = request.body;
    if (!isPlainObject(body)) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: null, message: 'The request body must be a JSON object.' });
    const { name } = body;
    if (typeof name !== 'string' || name.trim() === '' || name.length > 100 || /[\r\n\0]/.test(name)) {
      throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: 'name', message: 'name is required: 1 to 100 characters without line breaks.' });
    }
    const scopes = readScopes(body.scopes);
    // A key cannot mint a key with more power than its own.
    const beyond = scopes.filter((s) => !request.apiKey!.scopes.includes(s));
    if (beyond.length > 0) {
      throw new HeraldError('HERALD_ERR_FORBIDDEN', { field: 'scopes', message: `access forbidden: this API key cannot grant ${beyond.join(', ')}` });
    }
    const created = await createApiKey(accounts, accountOf(request), name, scopes);
    request.log.info({ createdKeyId: created.record.id }, 'api key created');
    return reply.status(201).send({ api_key: created.apiKey, api_key_id: created.record.id, name, scopes });
  });

  // SendGrid's "Retrieve a list of scopes for which this user has access": what a new key may hold.
  app.get('/v3/scopes', { onRequest: requireScope(accounts, 'api_keys.read') }, async (request) => {
    return { scopes: request.apiKey!.scopes };
  });

  app.get('/v3/api_keys', { onRequest: requireScope(accounts, 'api_keys.read') }, async (request) => {
    const keys = await accounts.listApiKeys(accountOf(request));
    return { result: keys.map((k) => ({ api_key_id: k.id, name: k.name })) };
  });

  app.get<{ Params: { id: string } }>('/v3/api_keys/:id', { onRequest: requireScope(accounts, 'api_keys.read') }, async (request) => {
    const key = await accounts.getApiKey(request.params.id);
    if (!key || key.accountId !== accountOf(request)) throw new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'api_key_id', message: 'API key not found.' });
    return { result: [{ api_key_id: key.id, name: key.name, scopes: key.scopes }] };
  });

  app.delete<{ Params: { id: string } }>('/v3/api_keys/:id', { onRequest: requireScope(accounts, 'api_keys.delete') }, async (request, reply) => {
    if (!(await accounts.deleteApiKey(accountOf(request), request.params.id))) {
      throw new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'api_key_id', message: 'API key not found.' });
    }
    request.log.info({ deletedKeyId: request.params.id }, 'api key revoked');
    return reply.status(204).send();
  });
}
