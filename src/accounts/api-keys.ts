import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { HeraldError } from '../errors.js';
import type { AccountStore, ApiKeyRecord } from './account-store.js';
import { FULL_ACCESS_SCOPES, SCOPES, isScope, type Scope } from './scopes.js';

/** SendGrid's key shape: `SG.<22-char id>.<43-char secret>`. */
const KEY_PATTERN = /^SG\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface CreatedApiKey {
  /** The whole key: shown once, never stored. */
  apiKey: string;
  record: ApiKeyRecord;
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Checks and normalises requested scopes; none or an empty list means full access (every scope but the operator's, OPERATOR_SCOPES). */
export function readScopes(value: unknown): Scope[] {
  if (value === undefined || value === null) return [...FULL_ACCESS_SCOPES];
  if (!Array.isArray(value) || value.some((s) => typeof s !== 'string')) {
    throw new HeraldError('HERALD_ERR_INVALID_SCOPE', { field: 'scopes', message: 'scopes must be an array of strings.' });
  }
  const unknown = (value as string[]).filter((s) => !isScope(s));
  if (unknown.length > 0) {
    throw new HeraldError('HERALD_ERR_INVALID_SCOPE', {
      field: 'scopes',
      message: `Unknown scopes: ${unknown.slice(0, 5).join(', ')}. Valid scopes: ${SCOPES.join(', ')}.`,
    });
  }
  return value.length === 0 ? [...FULL_ACCESS_SCOPES] : [...new Set(value as Scope[])];
}

export async function createApiKey(store: AccountStore, accountId: string, name: string, scopes: Scope[]): Promise<CreatedApiKey> {
  const id = randomBytes(16).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  const record: ApiKeyRecord = { id, accountId, name, scopes, secretHash: hashSecret(secret), createdAt: Date.now() };
  await store.saveApiKey(record);
  return { apiKey: `SG.${id}.${secret}`, record };
}

/** Finds the key a bearer token names, or null. Compares hashes in constant time. */
export async function authenticate(store: AccountStore, token: string): Promise<ApiKeyRecord | null> {
  const match = KEY_PATTERN.exec(token);
  if (!match) return null;
  const record = await store.getApiKey(match[1]!);
  if (!record) return null;
  const given = Buffer.from(hashSecret(match[2]!), 'hex');
  const stored = Buffer.from(record.secretHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored) ? record : null;
}
