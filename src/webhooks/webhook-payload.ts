import { HeraldError } from '../errors.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './webhook-events.js';
import type { DeliveryRecord, EndpointSettings, WebhookEndpoint } from './webhook-store.js';

/** Endpoints per account, as SendGrid's `max_allowed`. */
export const MAX_ENDPOINTS = 5;
/** Longest friendly name accepted. */
export const MAX_FRIENDLY_NAME = 100;
/** Largest settings body accepted, bytes: a dozen booleans, a URL and a name. */
export const MAX_SETTINGS_BODY = 16 * 1024;

/** OAuth fields SendGrid accepts; Herald signs requests instead and refuses them when set. */
const OAUTH_FIELDS = ['oauth_client_id', 'oauth_client_secret', 'oauth_token_url'];

const invalid = (field: string, message: string): HeraldError => new HeraldError('HERALD_ERR_INVALID_FIELD', { field, message });

function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) throw new HeraldError('HERALD_ERR_BAD_JSON', { message: 'Bad Request: a JSON object is expected.' });
  if (typeof body !== 'object' || Array.isArray(body)) throw new HeraldError('HERALD_ERR_BAD_JSON', { message: 'Bad Request: the body must be a JSON object.' });
  return body as Record<string, unknown>;
}

/**
 * The settings of SendGrid's Event Webhook bodies (PATCH /settings, POST /settings, PATCH
 * /settings/{id}): what is given, checked. An unknown field or event name is refused rather than
 * ignored, so a typo (`spamreport` for `spam_report`) never silently turns an event off. The URL
 * is checked for shape here and for where it leads by the route (it needs DNS).
 */
export function readEndpointSettings(body: unknown): Partial<EndpointSettings> & { eventSwitches: Partial<Record<WebhookEventType, boolean>> } {
  const input = objectBody(body);
  const out: Partial<EndpointSettings> & { eventSwitches: Partial<Record<WebhookEventType, boolean>> } = { eventSwitches: {} };
  for (const [key, value] of Object.entries(input)) {
    if ((WEBHOOK_EVENT_TYPES as readonly string[]).includes(key)) {
      if (typeof value !== 'boolean') throw invalid(key, `${key} must be true or false.`);
      out.eventSwitches[key as WebhookEventType] = value;
    } else if (key === 'enabled') {
      if (typeof value !== 'boolean') throw invalid(key, 'enabled must be true or false.');
      out.enabled = value;
    } else if (key === 'url') {
      if (typeof value !== 'string') throw invalid(key, 'url must be a string.');
      out.url = value.trim();
    } else if (key === 'friendly_name') {
      if (value !== null && typeof value !== 'string') throw invalid(key, 'friendly_name must be a string or null.');
      if (typeof value === 'string' && value.length > MAX_FRIENDLY_NAME) throw invalid(key, `friendly_name is limited to ${MAX_FRIENDLY_NAME} characters.`);
      out.friendlyName = value === null || value === '' ? null : value;
    } else if (OAUTH_FIELDS.includes(key)) {
      if (value !== null && value !== '' && value !== undefined) throw invalid(key, 'OAuth is not supported; turn on signature verification (PATCH /v3/user/webhooks/event/settings/signed) to authenticate events.');
    } else if (key === 'account_status_change') {
      if (value !== false && value !== null) throw invalid(key, 'account status change events are not sent by Herald.');
    } else {
      throw invalid(key, `Unknown field "${key.slice(0, 64)}": event types are ${WEBHOOK_EVENT_TYPES.join(', ')}.`);
    }
  }
  return out;
}

/** The event types after applying `switches` to `current`, in SendGrid's order. */
export function applySwitches(current: readonly WebhookEventType[], switches: Partial<Record<WebhookEventType, boolean>>): WebhookEventType[] {
  return WEBHOOK_EVENT_TYPES.filter((t) => switches[t] ?? current.includes(t));
}

/** `{"enabled": true}` of the signed-webhook toggle. */
export function readSignedToggle(body: unknown): boolean {
  const input = objectBody(body);
  for (const key of Object.keys(input)) if (key !== 'enabled') throw invalid(key, `Unknown field "${key.slice(0, 64)}": only enabled is accepted.`);
  if (input.enabled === undefined) throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: 'enabled', message: 'enabled is required.' });
  if (typeof input.enabled !== 'boolean') throw invalid('enabled', 'enabled must be true or false.');
  return input.enabled;
}

/** `{"url": ..., "id"?: ...}` of the test endpoint: `id` names a webhook whose key signs the test event. */
export function readTestRequest(body: unknown): { url: string; id: string | null } {
  const input = objectBody(body);
  for (const key of Object.keys(input)) {
    if (key !== 'url' && key !== 'id' && !OAUTH_FIELDS.includes(key)) throw invalid(key, `Unknown field "${key.slice(0, 64)}".`);
  }
  if (input.url === undefined || input.url === '') throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: 'url', message: 'url is required.' });
  if (typeof input.url !== 'string') throw invalid('url', 'url must be a string.');
  if (input.id !== undefined && input.id !== null && (typeof input.id !== 'string' || input.id.length > 64)) throw invalid('id', 'id must be the id of one of your Event Webhooks.');
  return { url: input.url.trim(), id: typeof input.id === 'string' && input.id !== '' ? input.id : null };
}

/** An endpoint as SendGrid's Event Webhook API shows it; the private key never appears. */
export function endpointJson(e: WebhookEndpoint): Record<string, unknown> {
  const out: Record<string, unknown> = { id: e.id, enabled: e.enabled, url: e.url };
  for (const t of WEBHOOK_EVENT_TYPES) out[t] = e.eventTypes.includes(t);
  out.friendly_name = e.friendlyName;
  out.oauth_client_id = '';
  out.oauth_token_url = '';
  out.created_date = new Date(e.createdAt).toISOString();
  out.updated_date = new Date(e.updatedAt).toISOString();
  if (e.publicKey) out.public_key = e.publicKey;
  return out;
}

/** SendGrid's answer to GET /settings when no webhook exists yet: everything off. */
export function noEndpointJson(): Record<string, unknown> {
  const out: Record<string, unknown> = { enabled: false, url: '' };
  for (const t of WEBHOOK_EVENT_TYPES) out[t] = false;
  out.oauth_client_id = '';
  out.oauth_token_url = '';
  return out;
}

export function deliveryJson(d: DeliveryRecord): Record<string, unknown> {
  return { attempted_at: new Date(d.attemptedAt).toISOString(), outcome: d.outcome, events: d.events, status: d.status, error: d.error, duration_ms: d.durationMs };
}
