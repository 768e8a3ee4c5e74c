import { Problems, hasLineBreak, isPlainObject } from './field-checks.js';
import type { MessageTrackingSettings } from './mail-request.js';

/** Longest subscription text or HTML accepted per message. */
const MAX_SUBSCRIPTION_CONTENT = 10_000;
/** Longest substitution tag: a marker such as `[unsubscribe]` or `%open-track%`. */
const MAX_TAG = 100;

/**
 * SendGrid's Mail Send `tracking_settings`: `click_tracking {enable, enable_text}`,
 * `open_tracking {enable, substitution_tag}`, `subscription_tracking {enable, text, html,
 * substitution_tag}` and `ganalytics` (accepted and not applied). Values left out follow the
 * account's settings; a value of the wrong type is refused with the field named.
 */
export function readTrackingSettings(value: unknown, problems: Problems): MessageTrackingSettings | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'tracking_settings', 'tracking_settings must be an object.');
    return undefined;
  }
  const out: MessageTrackingSettings = {};
  for (const key of Object.keys(value)) {
    if (!['click_tracking', 'open_tracking', 'subscription_tracking', 'ganalytics'].includes(key)) {
      problems.add('HERALD_ERR_INVALID_FIELD', `tracking_settings.${key}`, 'tracking_settings may hold click_tracking, open_tracking, subscription_tracking and ganalytics.');
    }
  }
  const click = section(value.click_tracking, 'tracking_settings.click_tracking', ['enable', 'enable_text'], problems);
  if (click) {
    out.click = {};
    const enable = flag(click.enable, 'tracking_settings.click_tracking.enable', problems);
    const enableText = flag(click.enable_text, 'tracking_settings.click_tracking.enable_text', problems);
    if (enable !== undefined) out.click.enable = enable;
    if (enableText !== undefined) out.click.enableText = enableText;
  }
  const open = section(value.open_tracking, 'tracking_settings.open_tracking', ['enable', 'substitution_tag'], problems);
  if (open) {
    out.open = {};
    const enable = flag(open.enable, 'tracking_settings.open_tracking.enable', problems);
    const tag = text(open.substitution_tag, 'tracking_settings.open_tracking.substitution_tag', MAX_TAG, false, problems);
    if (enable !== undefined) out.open.enable = enable;
    if (tag !== undefined) out.open.substitutionTag = tag;
  }
  const sub = section(value.subscription_tracking, 'tracking_settings.subscription_tracking', ['enable', 'text', 'html', 'substitution_tag'], problems);
  if (sub) {
    out.subscription = {};
    const enable = flag(sub.enable, 'tracking_settings.subscription_tracking.enable', problems);
    const plain = text(sub.text, 'tracking_settings.subscription_tracking.text', MAX_SUBSCRIPTION_CONTENT, true, problems);
    const html = text(sub.html, 'tracking_settings.subscription_tracking.html', MAX_SUBSCRIPTION_CONTENT, true, problems);
    const tag = text(sub.substitution_tag, 'tracking_settings.subscription_tracking.substitution_tag', MAX_TAG, false, problems);
    if (enable !== undefined) out.subscription.enable = enable;
    if (plain !== undefined) out.subscription.text = plain;
    if (html !== undefined) out.subscription.html = html;
    if (tag !== undefined) out.subscription.substitutionTag = tag;
  }
  if (value.ganalytics !== undefined && value.ganalytics !== null && !isPlainObject(value.ganalytics)) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'tracking_settings.ganalytics', 'ganalytics must be an object.');
  }
  return out;
}

function section(value: unknown, field: string, keys: readonly string[], problems: Problems): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) {
    problems.add('HERALD_ERR_INVALID_FIELD', field, `${field.split('.').pop()} must be an object with ${keys.join(', ')}.`);
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) problems.add('HERALD_ERR_INVALID_FIELD', `${field}.${key}`, `${field.split('.').pop()} may hold ${keys.join(', ')}.`);
  }
  return value;
}

function flag(value: unknown, field: string, problems: Problems): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    problems.add('HERALD_ERR_INVALID_FIELD', field, `${field.split('.').pop()} must be true or false.`);
    return undefined;
  }
  return value;
}

function text(value: unknown, field: string, max: number, multiline: boolean, problems: Problems): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > max || value.includes('\0') || (!multiline && hasLineBreak(value))) {
    problems.add('HERALD_ERR_INVALID_FIELD', field, `${field.split('.').pop()} must be a string of 1 to ${max} characters${multiline ? '' : ' without line breaks'}.`);
    return undefined;
  }
  return value;
}
