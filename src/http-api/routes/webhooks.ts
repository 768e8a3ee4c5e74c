import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiContext } from '../api-context.js';
import { accountOf, requireScope } from '../auth.js';
import { HeraldError } from '../../errors.js';
import type { WebhookEndpoint } from '../../webhooks/webhook-store.js';
import { checkTarget, TargetRefused } from '../../webhooks/webhook-target.js';
import { makeWebhookKeyPair, signatureHeaders } from '../../webhooks/webhook-signature.js';
import { postWebhook } from '../../webhooks/webhook-sender.js';
import { sampleEvent } from '../../webhooks/webhook-events.js';
import {
  MAX_ENDPOINTS,
  MAX_SETTINGS_BODY,
  applySwitches,
  deliveryJson,
  endpointJson,
  noEndpointJson,
  readEndpointSettings,
  readSignedToggle,
  readTestRequest,
} from '../../webhooks/webhook-payload.js';

type IdParams = { Params: { id: string } };

const notFound = (): HeraldError => new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'id', message: 'Event Webhook not found.' });
const noWebhook = (): HeraldError => new HeraldError('HERALD_ERR_NOT_FOUND', { field: null, message: 'This account has no Event Webhook yet; create one with PATCH or POST /v3/user/webhooks/event/settings.' });

/** Deliveries listed at most per request. */
const MAX_DELIVERIES = 100;

/**
 * SendGrid's Event Webhook settings API (/v3/user/webhooks/event/...): the legacy single-webhook
 * endpoints act on the account's oldest webhook, as SendGrid's do; the multi-webhook ones take
 * its id. Plus Herald's deliveries log. Every read and write is scoped to the caller's account.
 */
export function webhookRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { accounts, webhooks } = ctx.backend;
  const limits = { bodyLimit: MAX_SETTINGS_BODY };
  const scope = {
    read: { onRequest: requireScope(accounts, 'user.webhooks.event.settings.read') },
    update: { onRequest: requireScope(accounts, 'user.webhooks.event.settings.update'), ...limits },
    test: { onRequest: requireScope(accounts, 'user.webhooks.event.test.create'), ...limits },
  };
  const allowPrivate = ctx.config.webhookAllowPrivateTargets;

  /** The URL checked for shape and for where it leads (400 naming the reason when refused). */
  async function checkedUrl(raw: string): Promise<string> {
    try {
      await checkTarget(raw, allowPrivate);
    } catch (error) {
      if (error instanceof TargetRefused) throw new HeraldError('HERALD_ERR_WEBHOOK_TARGET_REFUSED', { field: 'url', message: `The webhook URL is refused: ${error.message}.` });
      throw error;
    }
    return raw;
  }

  async function defaultEndpoint(request: FastifyRequest): Promise<WebhookEndpoint | null> {
    return (await webhooks.list(accountOf(request)))[0] ?? null;
  }

  async function createFrom(request: FastifyRequest, body: unknown, defaults: { enabled: boolean }): Promise<WebhookEndpoint> {
    const input = readEndpointSettings(body);
    const enabled = input.enabled ?? defaults.enabled;
    if (input.url === undefined || input.url === '') {
      throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: 'url', message: 'url is required to create an Event Webhook.' });
    }
    const url = await checkedUrl(input.url);
    const created = await webhooks.create(accountOf(request), { url, enabled, eventTypes: applySwitches([], input.eventSwitches), friendlyName: input.friendlyName ?? null }, MAX_ENDPOINTS, Date.now());
    if (created === 'limit') throw new HeraldError('HERALD_ERR_WEBHOOK_LIMIT', { message: `An account can have up to ${MAX_ENDPOINTS} Event Webhooks; delete one first.` });
    request.log.info({ webhookId: created.id }, 'event webhook created');
    return created;
  }

  async function updateFrom(request: FastifyRequest, current: WebhookEndpoint, body: unknown): Promise<WebhookEndpoint> {
    const input = readEndpointSettings(body);
    const { eventSwitches, ...changes } = input;
    if (changes.url !== undefined) {
      if (changes.url === '') throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'url', message: 'url cannot be empty.' });
      await checkedUrl(changes.url);
    }
    const updated = await webhooks.update(accountOf(request), current.id, { ...changes, eventTypes: applySwitches(current.eventTypes, eventSwitches) }, Date.now());
    if (!updated) throw notFound();
    return updated;
  }

  async function ownEndpoint(request: FastifyRequest<IdParams>): Promise<WebhookEndpoint> {
    const id = request.params.id;
    const found = id.length <= 64 ? await webhooks.get(accountOf(request), id) : null;
    if (!found) throw notFound();
    return found;
  }

  async function toggleSigning(request: FastifyRequest, endpoint: WebhookEndpoint, enable: boolean): Promise<{ id: string; public_key: string }> {
    ctx.refuseWhenDraining();
    if (enable === (endpoint.publicKey !== null)) return { id: endpoint.id, public_key: endpoint.publicKey ?? '' };
    const updated = await webhooks.setSigningKey(accountOf(request), endpoint.id, enable ? makeWebhookKeyPair() : null, Date.now());
    if (!updated) throw notFound();
    request.log.info({ webhookId: endpoint.id, signed: enable }, 'event webhook signing changed');
    return { id: updated.id, public_key: updated.publicKey ?? '' };
  }

  // The account's first webhook, SendGrid's legacy single-webhook settings.
  app.get('/v3/user/webhooks/event/settings', scope.read, async (request) => {
    const found = await defaultEndpoint(request);
    return found ? endpointJson(found) : noEndpointJson();
  });

  app.patch('/v3/user/webhooks/event/settings', scope.update, async (request) => {
    ctx.refuseWhenDraining();
    const found = await defaultEndpoint(request);
    if (found) return endpointJson(await updateFrom(request, found, request.body));
    // Turning off a webhook that does not exist: nothing to create, and nothing is wrong.
    const input = readEndpointSettings(request.body);
    if (input.enabled !== true && (input.url === undefined || input.url === '')) return noEndpointJson();
    return endpointJson(await createFrom(request, request.body, { enabled: false }));
  });

  app.get('/v3/user/webhooks/event/settings/all', scope.read, async (request) => {
    return { max_allowed: MAX_ENDPOINTS, webhooks: (await webhooks.list(accountOf(request))).map(endpointJson) };
  });

  app.post('/v3/user/webhooks/event/settings', scope.update, async (request, reply) => {
    ctx.refuseWhenDraining();
    return reply.status(201).send(endpointJson(await createFrom(request, request.body, { enabled: true })));
  });

  app.get('/v3/user/webhooks/event/settings/signed', scope.read, async (request) => {
    const found = await defaultEndpoint(request);
    if (!found) throw noWebhook();
    return { id: found.id, public_key: found.publicKey ?? '' };
  });

  app.patch('/v3/user/webhooks/event/settings/signed', scope.update, async (request) => {
    const enable = readSignedToggle(request.body);
    const found = await defaultEndpoint(request);
    if (!found) throw noWebhook();
    return toggleSigning(request, found, enable);
  });

  app.get<IdParams>('/v3/user/webhooks/event/settings/signed/:id', scope.read, async (request) => {
    const found = await ownEndpoint(request);
    return { id: found.id, public_key: found.publicKey ?? '' };
  });

  app.patch<IdParams>('/v3/user/webhooks/event/settings/signed/:id', scope.update, async (request) => {
    const enable = readSignedToggle(request.body);
    return toggleSigning(request, await ownEndpoint(request), enable);
  });

  app.get<IdParams>('/v3/user/webhooks/event/settings/:id', scope.read, async (request) => endpointJson(await ownEndpoint(request)));

  app.patch<IdParams>('/v3/user/webhooks/event/settings/:id', scope.update, async (request) => {
    ctx.refuseWhenDraining();
    return endpointJson(await updateFrom(request, await ownEndpoint(request), request.body));
  });

  app.delete<IdParams>('/v3/user/webhooks/event/settings/:id', scope.update, async (request, reply) => {
    ctx.refuseWhenDraining();
    const found = await ownEndpoint(request);
    if (!(await webhooks.remove(accountOf(request), found.id))) throw notFound();
    request.log.info({ webhookId: found.id }, 'event webhook deleted');
    return reply.status(204).send();
  });

  // Posts one sample event to `url` (SendGrid's "Test an Event Webhook's settings"), under the same
  // address checks, timeouts and reply cap as real batches.
  app.post('/v3/user/webhooks/event/test', scope.test, async (request, reply) => {
    ctx.refuseWhenDraining();
    const { url, id } = readTestRequest(request.body);
    await checkedUrl(url);
    // Signed with the named webhook's key, when it has one, so the receiver's verification can be tried too.
    let privateKey: string | null = null;
    if (id !== null) {
      if (!(await webhooks.get(accountOf(request), id))) throw notFound();
      privateKey = await webhooks.signingKey(accountOf(request), id);
    }
    const c = ctx.config;
    const now = Date.now();
    const body = Buffer.from(JSON.stringify([sampleEvent(now)]));
    const outcome = await postWebhook(url, body, privateKey ? signatureHeaders(privateKey, now, body) : {}, {
      connectTimeoutMs: c.webhookConnectTimeoutMs,
      responseTimeoutMs: c.webhookResponseTimeoutMs,
      maxResponseBytes: c.webhookMaxResponseBytes,
      allowPrivateTargets: allowPrivate,
    });
    if (!outcome.ok) throw new HeraldError('HERALD_ERR_WEBHOOK_TEST_FAILED', { field: 'url', message: `The test event was not accepted: ${outcome.error ?? 'no 2xx reply'}.` });
    return reply.status(204).send();
  });

  app.get<IdParams & { Querystring: { limit?: string } }>('/v1/webhooks/:id/deliveries', scope.read, async (request) => {
    const raw = request.query.limit;
    const limit = raw === undefined ? 50 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DELIVERIES) {
      throw new HeraldError('HERALD_ERR_INVALID_QUERY', { field: 'limit', message: `limit must be an integer from 1 to ${MAX_DELIVERIES}.` });
    }
    const found = await ownEndpoint(request);
    const deliveries = await webhooks.deliveries(accountOf(request), found.id, limit);
    if (!deliveries) throw notFound();
    return { webhook_id: found.id, deliveries: deliveries.map(deliveryJson) };
  });
}
