import type { ApiKeyRecord } from '../accounts/account-store.js';
import type { Scope } from '../accounts/scopes.js';

// Rows of the same tables read the same way in every backend.

export interface KeyRow {
  id: string;
  account_id: string;
  name: string;
  scopes: string;
  secret_hash: string;
  created_at: number;
}

export function toKey(row: KeyRow): ApiKeyRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as Scope[],
    secretHash: row.secret_hash,
    createdAt: row.created_at,
  };
}
