import { HeraldError } from '../errors.js';
import { isPlainObject } from '../message/field-checks.js';
import type { TrackingSettingChanges, TrackingSettingName, TrackingSettings } from './tracking-settings.js';

/** The three settings SendGrid's `/v3/tracking_settings/{kind}` endpoints manage. */
export type TrackingKind = 'open' | 'click' | 'subscription';

/** Longest footer content, in characters. */
const MAX_CONTENT = 10_000;
/** Longest landing page, in characters. */
const MAX_LANDING = 100_000;

/** What each kind's PATCH body may hold: SendGrid's field, the stored name, and its type. */
const FIELDS: Record<TrackingKind, Record<string, { name: TrackingSettingName; type: 'boolean' | 'content' | 'landing' | 'tag' | 'url' }>> = {
  open: { enabled: { name: 'open.enabled', type: 'boolean' } },
  click: { enabled: { name: 'click.enabled', type: 'boolean' }, enable_text: { name: 'click.enable_text', type: 'boolean' } },
  subscription: {
    enabled: { name: 'subscription.enabled', type: 'boolean' },
    html_content: { name: 'subscription.html_content', type: 'content' },
    plain_content: { name: 'subscription.plain_content', type: 'content' },
    replace: { name: 'subscription.replace', type: 'tag' },
    url: { name: 'subscription.url', type: 'url' },
    landing: { name: 'subscription.landing', type: 'landing' },
  },
};

/** A PATCH body for `kind`, checked field by field; an unknown field or a wrong type is a 400 naming it. */
export function readTrackingPatch(kind: TrackingKind, body: unknown): TrackingSettingChanges {
  if (body === undefined) throw new HeraldError('HERALD_ERR_BAD_JSON', { field: null, message: 'Bad Request: the request body is empty; a JSON object is expected.' });
  if (!isPlainObject(body)) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: null, message: 'The request body must be a JSON object.' });
  const fields = FIELDS[kind];
  const changes: TrackingSettingChanges = {};
  const keys = Object.keys(body);
  if (keys.length === 0) throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: null, message: `Give at least one of ${Object.keys(fields).join(', ')}.` });
  for (const key of keys) {
    const field = fields[key];
    if (!field) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: key, message: `${kind} tracking settings are ${Object.keys(fields).join(', ')}.` });
    const value = body[key];
    switch (field.type) {
      case 'boolean':
        if (typeof value !== 'boolean') throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: key, message: `${key} must be true or false.` });
        break;
      case 'content':
      case 'landing': {
        const max = field.type === 'content' ? MAX_CONTENT : MAX_LANDING;
        if (typeof value !== 'string' || value.length > max || value.includes('\0')) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: key, message: `${key} must be a string of at most ${max} characters.` });
        break;
      }
      case 'tag':
        if (typeof value !== 'string' || value.length > 100 || /[\r\n\0]/.test(value)) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: key, message: `${key} must be a string of at most 100 characters without line breaks.` });
        break;
      case 'url':
        if (typeof value !== 'string' || (value !== '' && !isHttpUrl(value))) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: key, message: `${key} must be an http:// or https:// URL of at most 2048 characters, or "" for Herald's own page.` });
        break;
    }
    changes[field.name] = value as boolean | string;
  }
  return changes;
}

function isHttpUrl(value: string): boolean {
  if (value.length > 2048 || /[\s\0]/.test(value)) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** One kind's settings in SendGrid's shape. */
export function trackingJson(kind: TrackingKind, s: TrackingSettings): Record<string, unknown> {
  switch (kind) {
    case 'open':
      return { enabled: s.open.enabled };
    case 'click':
      return { enable_text: s.click.enableText, enabled: s.click.enabled };
    case 'subscription':
      return {
        enabled: s.subscription.enabled,
        html_content: s.subscription.htmlContent,
        landing: s.subscription.landing,
        plain_content: s.subscription.plainContent,
        replace: s.subscription.replace,
        url: s.subscription.url,
      };
  }
}
