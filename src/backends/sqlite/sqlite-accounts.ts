import { type KeyRow, toKey } from '../account-rows.js';
import type Database from 'better-sqlite3';
import type { Account, AccountStore, ApiKeyRecord } from '../../accounts/account-store.js';
import { newId } from '../../message/expand.js';

export class SqliteAccounts implements AccountStore {
  private readonly stmt;

  constructor(db: Database.Database) {
    this.stmt = {
      insertAccount: db.prepare('INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)'),
      accountById: db.prepare('SELECT id, name, created_at AS createdAt FROM accounts WHERE id = ?'),
      accountByName: db.prepare('SELECT id, name, created_at AS createdAt FROM accounts WHERE name = ?'),
      accounts: db.prepare('SELECT id, name, created_at AS createdAt FROM accounts ORDER BY created_at'),
      insertKey: db.prepare(`INSERT INTO api_keys (id, account_id, name, scopes, secret_hash, created_at)
        VALUES (@id, @account_id, @name, @scopes, @secret_hash, @created_at)`),
      keyById: db.prepare('SELECT * FROM api_keys WHERE id = ?'),
      keysOf: db.prepare('SELECT * FROM api_keys WHERE account_id = ? ORDER BY created_at'),
      deleteKey: db.prepare('DELETE FROM api_keys WHERE account_id = ? AND id = ?'),
      insertBatch: db.prepare('INSERT OR IGNORE INTO batches (account_id, id, created_at) VALUES (?, ?, ?)'),
      batch: db.prepare('SELECT 1 FROM batches WHERE account_id = ? AND id = ?'),
    };
  }

  async createAccount(name: string): Promise<Account> {
    const account = { id: newId(), name, createdAt: Date.now() };
    this.stmt.insertAccount.run(account.id, account.name, account.createdAt);
    return account;
  }

  async getAccount(id: string): Promise<Account | null> {
    return (this.stmt.accountById.get(id) as Account | undefined) ?? null;
  }

  async findAccountByName(name: string): Promise<Account | null> {
    return (this.stmt.accountByName.get(name) as Account | undefined) ?? null;
  }

  async listAccounts(): Promise<Account[]> {
    return this.stmt.accounts.all() as Account[];
  }

  async saveApiKey(r: ApiKeyRecord): Promise<void> {
    this.stmt.insertKey.run({
      id: r.id,
      account_id: r.accountId,
      name: r.name,
      scopes: JSON.stringify(r.scopes),
      secret_hash: r.secretHash,
      created_at: r.createdAt,
    });
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const row = this.stmt.keyById.get(id) as KeyRow | undefined;
    return row ? toKey(row) : null;
  }

  async listApiKeys(accountId: string): Promise<ApiKeyRecord[]> {
    return (this.stmt.keysOf.all(accountId) as KeyRow[]).map(toKey);
  }

  async deleteApiKey(accountId: string, id: string): Promise<boolean> {
    return this.stmt.deleteKey.run(accountId, id).changes > 0;
  }

  async createBatch(accountId: string, batchId: string): Promise<void> {
    this.stmt.insertBatch.run(accountId, batchId, Date.now());
  }

  async batchExists(accountId: string, batchId: string): Promise<boolean> {
    return this.stmt.batch.get(accountId, batchId) !== undefined;
  }
}

