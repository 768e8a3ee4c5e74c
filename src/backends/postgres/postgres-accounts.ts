import { type KeyRow, toKey } from '../account-rows.js';
import type { Account, AccountStore, ApiKeyRecord } from '../../accounts/account-store.js';
import { newId } from '../../message/expand.js';
import type { PgDatabase } from './pg-database.js';

const ACCOUNT_COLUMNS = 'id, name, created_at AS "createdAt"';

/**
 * Accounts, API keys and batches, as SqliteAccounts keeps them. Rows created in the same
 * millisecond are listed in insertion order, as SQLite's rowid orders them: these rows are never
 * updated, so `xmin` (the inserting transaction) still says which came first.
 */
export class PostgresAccounts implements AccountStore {
  constructor(private readonly db: PgDatabase) {}

  async createAccount(name: string): Promise<Account> {
    const account = { id: newId(), name, createdAt: Date.now() };
    // A taken name fails on the UNIQUE constraint, as in SQLite (startHerald relies on a throw).
    await this.db.query('INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)', [account.id, account.name, account.createdAt]);
    return account;
  }

  async getAccount(id: string): Promise<Account | null> {
    if (!storable(id)) return null;
    return (await this.db.query<Account>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [id]))[0] ?? null;
  }

  async findAccountByName(name: string): Promise<Account | null> {
    if (!storable(name)) return null;
    return (await this.db.query<Account>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE name = $1`, [name]))[0] ?? null;
  }

  async listAccounts(): Promise<Account[]> {
    return this.db.query<Account>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at, xmin::text::bigint`);
  }

  async saveApiKey(r: ApiKeyRecord): Promise<void> {
    await this.db.query('INSERT INTO api_keys (id, account_id, name, scopes, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      r.id,
      r.accountId,
      r.name,
      JSON.stringify(r.scopes),
      r.secretHash,
      r.createdAt,
    ]);
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    if (!storable(id)) return null;
    const row = (await this.db.query<KeyRow>('SELECT * FROM api_keys WHERE id = $1', [id]))[0];
    return row ? toKey(row) : null;
  }

  async listApiKeys(accountId: string): Promise<ApiKeyRecord[]> {
    return (await this.db.query<KeyRow>('SELECT * FROM api_keys WHERE account_id = $1 ORDER BY created_at, xmin::text::bigint', [accountId])).map(toKey);
  }

  async deleteApiKey(accountId: string, id: string): Promise<boolean> {
    if (!storable(id)) return false;
    return ((await this.db.pool.query('DELETE FROM api_keys WHERE account_id = $1 AND id = $2', [accountId, id])).rowCount ?? 0) > 0;
  }

  async createBatch(accountId: string, batchId: string): Promise<void> {
    await this.db.query('INSERT INTO batches (account_id, id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [accountId, batchId, Date.now()]);
  }

  async batchExists(accountId: string, batchId: string): Promise<boolean> {
    if (!storable(batchId)) return false;
    return (await this.db.query('SELECT 1 FROM batches WHERE account_id = $1 AND id = $2', [accountId, batchId])).length > 0;
  }
}

/**
 * PostgreSQL text cannot hold NUL, and refuses a parameter with one; such a key (e.g. `%00` in a
 * URL) names no row, so it is absent, as SQLite answers, not an error.
 */
function storable(key: string): boolean {
  return !key.includes('\0');
}

