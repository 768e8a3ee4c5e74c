import type { Scope } from './scopes.js';

export interface Account {
  id: string;
  name: string;
  createdAt: number;
}

/** An API key as stored: never the secret, only its hash. */
export interface ApiKeyRecord {
  id: string;
  accountId: string;
  name: string;
  scopes: Scope[];
  secretHash: string;
  createdAt: number;
}

/** The accounts port: tenants, their API keys and their mail batches. */
export interface AccountStore {
  createAccount(name: string): Promise<Account>;
  getAccount(id: string): Promise<Account | null>;
  findAccountByName(name: string): Promise<Account | null>;
  listAccounts(): Promise<Account[]>;
  saveApiKey(record: ApiKeyRecord): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | null>;
  listApiKeys(accountId: string): Promise<ApiKeyRecord[]>;
  /** Returns false when the key does not exist in this account. */
  deleteApiKey(accountId: string, id: string): Promise<boolean>;
  createBatch(accountId: string, batchId: string): Promise<void>;
  batchExists(accountId: string, batchId: string): Promise<boolean>;
}
