import { HeraldError } from '../errors.js';
import { hasLineBreak, isPlainObject, isValidEmail } from '../message/field-checks.js';
import type { GroupInput, ListOptions } from './suppression-store.js';

/** Addresses per POST or DELETE body: SendGrid's own ceiling for recipients per request. */
export const MAX_EMAILS_PER_REQUEST = 1000;
/** SendGrid: "You can create and retrieve up to 200 suppression groups". */
export const MAX_GROUPS = 200;
/** SendGrid's Bounces API: "retrieve up to 500 instances per query". */
export const MAX_LIST_LIMIT = 500;
const MAX_OFFSET = 1_000_000;
const MAX_GROUP_NAME = 30; // SendGrid: name maxLength 30
const MAX_GROUP_DESCRIPTION = 100; // SendGrid: description maxLength 100

/**
 * One address from a path or a body, lower-cased. Line breaks are refused where the address enters
 * (STYLE.md: sanitize at the assignment), before the syntax check that would also refuse them, so
 * the caller learns which it was.
 */
export function readEmail(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new HeraldError('HERALD_ERR_INVALID_EMAIL', { field, message: `${field} must be an email address as a string.` });
  }
  if (hasLineBreak(value)) {
    throw new HeraldError('HERALD_ERR_HEADER_INJECTION', { field, message: 'Carriage returns, line feeds and NUL are not allowed in addresses.' });
  }
  if (!isValidEmail(value)) throw new HeraldError('HERALD_ERR_INVALID_EMAIL', { field, message: `${field} does not contain a valid address.` });
  return value.toLowerCase();
}

/** A non-empty array of up to 1000 addresses under `key` of a JSON body, lower-cased and deduplicated. */
export function readEmailArray(body: unknown, key: string): string[] {
  if (body === undefined) throw new HeraldError('HERALD_ERR_BAD_JSON', { field: null, message: `Bad Request: the request body is empty; a JSON object with ${key} is expected.` });
  if (!isPlainObject(body)) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: null, message: 'The request body must be a JSON object.' });
  const value = body[key];
  if (value === undefined || value === null) throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: key, message: `${key} is required: an array of email addresses.` });
  if (!Array.isArray(value)) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: key, message: `${key} must be an array of email addresses.` });
  if (value.length === 0) throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: key, message: `${key} must hold at least one email address.` });
  if (value.length > MAX_EMAILS_PER_REQUEST) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: key, message: `${key} is limited to ${MAX_EMAILS_PER_REQUEST} addresses per request; this one has ${value.length}.` });
  }
  return [...new Set(value.map((v, i) => readEmail(v, `${key}.${i}`)))];
}

/** SendGrid's bulk delete body: `{"delete_all": true}` or `{"emails": [...]}`, never both. */
export function readBulkDelete(body: unknown): string[] | 'all' {
  if (body === undefined) throw new HeraldError('HERALD_ERR_BAD_JSON', { field: null, message: 'Bad Request: the request body is empty; send {"delete_all": true} or {"emails": [...]}.' });
  if (!isPlainObject(body)) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: null, message: 'The request body must be a JSON object.' });
  const { delete_all: deleteAll, emails } = body;
  if (deleteAll !== undefined && typeof deleteAll !== 'boolean') {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'delete_all', message: 'delete_all must be a boolean.' });
  }
  if (deleteAll === true && emails !== undefined) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'delete_all', message: 'Give either delete_all or emails, not both.' });
  }
  if (deleteAll === true) return 'all';
  if (emails === undefined) throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: 'emails', message: 'Send {"delete_all": true} or {"emails": [...]}.' });
  return readEmailArray(body, 'emails');
}

/** `limit` (1 to 500, default 500), `offset`, `email`, `start_time` and `end_time` (unix seconds, inclusive). */
export function readListQuery(query: Record<string, unknown>): ListOptions {
  const int = (key: string, min: number, max: number): number | undefined => {
    const raw = query[key];
    if (raw === undefined) return undefined;
    const n = typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: key, message: `${key} must be given once, as a whole number from ${min} to ${max}.` });
    }
    return n;
  };
  const options: ListOptions = { limit: int('limit', 1, MAX_LIST_LIMIT) ?? MAX_LIST_LIMIT, offset: int('offset', 0, MAX_OFFSET) ?? 0 };
  const start = int('start_time', 0, 253_402_300_799);
  const end = int('end_time', 0, 253_402_300_799);
  if (start !== undefined && end !== undefined && end < start) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'end_time', message: 'end_time must not be before start_time.' });
  }
  // Unix seconds, inclusive at both ends: the last second runs to its 999th millisecond.
  if (start !== undefined) options.startTime = start * 1000;
  if (end !== undefined) options.endTime = end * 1000 + 999;
  if (query.email !== undefined) options.email = readEmail(query.email, 'email');
  return options;
}

function readText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field, message: `${field} must be a non-empty string.` });
  }
  if (hasLineBreak(value)) throw new HeraldError('HERALD_ERR_HEADER_INJECTION', { field, message: `Carriage returns, line feeds and NUL are not allowed in ${field}.` });
  if (value.length > max) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field, message: `${field} is limited to ${max} characters.` });
  return value;
}

/** POST /v3/asm/groups: name and description required (SendGrid), is_default optional. */
export function readGroupCreate(body: unknown): GroupInput {
  const changes = readGroupUpdate(body);
  if (changes.name === undefined) throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: 'name', message: 'name is required.' });
  if (changes.description === undefined) throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: 'description', message: 'description is required.' });
  return { name: changes.name, description: changes.description, isDefault: changes.isDefault ?? false };
}

/** PATCH /v3/asm/groups/{id}: any of name, description, is_default, at least one. */
export function readGroupUpdate(body: unknown): Partial<GroupInput> {
  if (body === undefined) throw new HeraldError('HERALD_ERR_BAD_JSON', { field: null, message: 'Bad Request: the request body is empty; a JSON object is expected.' });
  if (!isPlainObject(body)) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: null, message: 'The request body must be a JSON object.' });
  const out: Partial<GroupInput> = {};
  if (body.name !== undefined) out.name = readText(body.name, 'name', MAX_GROUP_NAME);
  if (body.description !== undefined) out.description = readText(body.description, 'description', MAX_GROUP_DESCRIPTION);
  if (body.is_default !== undefined) {
    if (typeof body.is_default !== 'boolean') throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'is_default', message: 'is_default must be a boolean.' });
    out.isDefault = body.is_default;
  }
  if (Object.keys(out).length === 0) {
    throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: null, message: 'Give at least one of name, description and is_default.' });
  }
  return out;
}

/** A group id from a path or query: a positive whole number. */
export function readGroupId(value: unknown, field = 'group_id'): number {
  const n = typeof value === 'string' && /^[1-9]\d{0,14}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field, message: `${field} must be a positive whole number.` });
  return n;
}
