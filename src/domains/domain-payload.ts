import { HeraldError } from '../errors.js';
import { Problems, isPlainObject } from '../message/field-checks.js';

/** Per account. */
export const MAX_DOMAINS = 100;
// RFC 1035 §2.3.4: 253 characters as text, 63 per label; a selector is a label, kept short.
const MAX_DOMAIN_LENGTH = 253;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const SELECTOR = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** SendGrid's fields Herald accepts and ignores: it signs with its own keys, publishes no CNAMEs. */
const IGNORED = new Set(['subdomain', 'username', 'ips', 'custom_spf', 'default', 'automatic_security', 'region']);

/**
 * A host name as a sending domain: at least two labels of letters, digits and inner hyphens, a
 * top-level label not all digits (not an IP), lowercase, no trailing dot; null when not one.
 */
export function normalizeDomain(value: string): string | null {
  const name = value.trim().toLowerCase().replace(/\.$/, '');
  if (name.length === 0 || name.length > MAX_DOMAIN_LENGTH) return null;
  const labels = name.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels[labels.length - 1]!)) return null;
  return name;
}

/** The body of `POST /v3/whitelabel/domains`: `domain`, and optionally `custom_dkim_selector`. */
export function parseDomainCreate(body: unknown): { domain: string; selector: string | null } {
  if (!isPlainObject(body)) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: null, message: 'The request body must be a JSON object.' });
  const problems = new Problems();
  let domain: string | null = null;
  if (body.domain === undefined || body.domain === null) {
    problems.add('HERALD_ERR_MISSING_FIELD', 'domain', 'domain is required, e.g. "example.com".');
  } else if (typeof body.domain !== 'string') {
    problems.add('HERALD_ERR_INVALID_DOMAIN', 'domain', 'domain must be a string.');
  } else if (/[\r\n\0]/.test(body.domain)) {
    problems.add('HERALD_ERR_HEADER_INJECTION', 'domain', 'domain must not hold line breaks.');
  } else if (body.domain.trim().length > MAX_DOMAIN_LENGTH) {
    problems.add('HERALD_ERR_INVALID_DOMAIN', 'domain', `domain is longer than ${MAX_DOMAIN_LENGTH} characters.`);
  } else {
    domain = normalizeDomain(body.domain);
    if (!domain) problems.add('HERALD_ERR_INVALID_DOMAIN', 'domain', `"${body.domain.slice(0, 100)}" is not a domain name: labels of letters, digits and hyphens, at least two.`);
  }
  let selector: string | null = null;
  const custom = body.custom_dkim_selector;
  if (custom !== undefined && custom !== null) {
    if (typeof custom !== 'string' || !SELECTOR.test(custom)) {
      problems.add('HERALD_ERR_INVALID_FIELD', 'custom_dkim_selector', 'custom_dkim_selector must be 1 to 32 lowercase letters, digits or inner hyphens.');
    } else {
      selector = custom;
    }
  }
  for (const key of Object.keys(body)) {
    if (key !== 'domain' && key !== 'custom_dkim_selector' && !IGNORED.has(key)) problems.add('HERALD_ERR_INVALID_FIELD', key, `Unknown field "${key.slice(0, 50)}".`);
  }
  const first = problems.list[0];
  if (first) throw new HeraldError(first.code, { field: first.field, message: first.message, problems: problems.list });
  return { domain: domain!, selector };
}

/** A path id: SendGrid's domain ids are positive integers; anything else matches no domain. */
export function parseDomainId(raw: string): number | null {
  if (!/^[1-9]\d{0,14}$/.test(raw)) return null;
  return Number(raw);
}
