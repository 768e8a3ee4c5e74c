import { type DomainRow } from '../domain-rows.js';
import type Database from 'better-sqlite3';
import type { DkimAlgorithm, DkimPublicKey, DkimSigningKey, DomainStore, NewSendingDomain, RecordStatus, SendingDomain } from '../../domains/domain-store.js';
import type { KeySealer } from '../../domains/key-sealing.js';

interface KeyRow {
  algorithm: DkimAlgorithm;
  selector: string;
  public_key: string;
  private_key: string;
}

/** Sending domains and their keys in two tables; private keys pass through the sealer both ways. */
export class SqliteDomains implements DomainStore {
  private readonly stmt;

  constructor(
    private readonly db: Database.Database,
    private readonly sealer: KeySealer,
  ) {
    this.stmt = {
      insert: db.prepare('INSERT INTO sending_domains (account_id, domain, selector, valid, created_at) VALUES (?, ?, ?, 0, ?)'),
      insertKey: db.prepare('INSERT INTO dkim_keys (domain_id, algorithm, selector, public_key, private_key) VALUES (?, ?, ?, ?, ?)'),
      countOf: db.prepare('SELECT COUNT(*) AS n FROM sending_domains WHERE account_id = ?'),
      byId: db.prepare('SELECT * FROM sending_domains WHERE account_id = ? AND id = ?'),
      byName: db.prepare('SELECT * FROM sending_domains WHERE account_id = ? AND domain = ?'),
      list: db.prepare('SELECT * FROM sending_domains WHERE account_id = ? ORDER BY created_at, id'),
      keysOf: db.prepare("SELECT algorithm, selector, public_key, private_key FROM dkim_keys WHERE domain_id = ? ORDER BY CASE algorithm WHEN 'rsa-sha256' THEN 0 ELSE 1 END"),
      delete: db.prepare('DELETE FROM sending_domains WHERE account_id = ? AND id = ?'),
      check: db.prepare('UPDATE sending_domains SET valid = ?, validated_at = ?, last_check = ? WHERE account_id = ? AND id = ?'),
    };
  }

  async create(accountId: string, input: NewSendingDomain, maxDomains: number): Promise<SendingDomain | 'duplicate' | 'limit'> {
    return this.db.transaction((): SendingDomain | 'duplicate' | 'limit' => {
      if (this.stmt.byName.get(accountId, input.domain)) return 'duplicate';
      if ((this.stmt.countOf.get(accountId) as { n: number }).n >= maxDomains) return 'limit';
      const now = Date.now();
      const id = Number(this.stmt.insert.run(accountId, input.domain, input.selector, now).lastInsertRowid);
      for (const k of input.keys) this.stmt.insertKey.run(id, k.algorithm, k.selector, k.publicKey, this.sealer.seal(k.privateKeyPem));
      return this.toDomain(this.stmt.byId.get(accountId, id) as DomainRow);
    }).immediate();
  }

  async get(accountId: string, id: number): Promise<SendingDomain | null> {
    const row = this.stmt.byId.get(accountId, id) as DomainRow | undefined;
    return row ? this.toDomain(row) : null;
  }

  async findByName(accountId: string, domain: string): Promise<SendingDomain | null> {
    const row = this.stmt.byName.get(accountId, domain) as DomainRow | undefined;
    return row ? this.toDomain(row) : null;
  }

  async list(accountId: string): Promise<SendingDomain[]> {
    return (this.stmt.list.all(accountId) as DomainRow[]).map((row) => this.toDomain(row));
  }

  async delete(accountId: string, id: number): Promise<boolean> {
    // Keys go with it: ON DELETE CASCADE (foreign_keys is on for every connection).
    return this.stmt.delete.run(accountId, id).changes > 0;
  }

  async markChecked(accountId: string, id: number, check: { valid: boolean; records: Record<string, RecordStatus>; at: number }): Promise<SendingDomain | null> {
    if (this.stmt.check.run(check.valid ? 1 : 0, check.at, JSON.stringify(check.records), accountId, id).changes === 0) return null;
    return this.get(accountId, id);
  }

  async signingKeys(accountId: string, domain: string): Promise<DkimSigningKey[]> {
    const row = this.stmt.byName.get(accountId, domain) as DomainRow | undefined;
    if (!row || row.valid !== 1) return [];
    return (this.stmt.keysOf.all(row.id) as KeyRow[]).map((k) => ({
      domain: row.domain,
      selector: k.selector,
      algorithm: k.algorithm,
      privateKeyPem: this.sealer.open(k.private_key),
    }));
  }

  private toDomain(row: DomainRow): SendingDomain {
    const keys: DkimPublicKey[] = (this.stmt.keysOf.all(row.id) as KeyRow[]).map((k) => ({ algorithm: k.algorithm, selector: k.selector, publicKey: k.public_key }));
    return {
      id: row.id,
      accountId: row.account_id,
      domain: row.domain,
      selector: row.selector,
      valid: row.valid === 1,
      validatedAt: row.validated_at,
      lastCheck: row.last_check ? (JSON.parse(row.last_check) as Record<string, RecordStatus>) : {},
      createdAt: row.created_at,
      keys,
    };
  }
}
