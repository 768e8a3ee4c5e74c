import { type DomainRow } from '../domain-rows.js';
import type { DkimAlgorithm, DkimPublicKey, DkimSigningKey, DomainStore, NewSendingDomain, RecordStatus, SendingDomain } from '../../domains/domain-store.js';
import type { KeySealer } from '../../domains/key-sealing.js';
import type { PgDatabase, PgQueryable } from './pg-database.js';

interface KeyRow {
  domain_id: number;
  algorithm: DkimAlgorithm;
  selector: string;
  public_key: string;
  private_key: string;
}

/** RSA first, then Ed25519. */
const KEY_ORDER = "ORDER BY domain_id, CASE algorithm WHEN 'rsa-sha256' THEN 0 ELSE 1 END";

/**
 * Sending domains and their keys in two tables, with SqliteDomains' behaviour; private keys pass
 * through the sealer both ways, exactly as there. A creation (the name and limit checks and the
 * inserts they guard) runs in one transaction holding a transaction-level advisory lock on the
 * account's domains, so concurrent creations in any number of processes run one at a time, as
 * SQLite's IMMEDIATE transaction makes them, and a duplicate is answered 'duplicate', not a
 * constraint error.
 */
export class PostgresDomains implements DomainStore {
  constructor(
    private readonly db: PgDatabase,
    private readonly sealer: KeySealer,
  ) {}

  async create(accountId: string, input: NewSendingDomain, maxDomains: number): Promise<SendingDomain | 'duplicate' | 'limit'> {
    return this.db.transaction(async (tx): Promise<SendingDomain | 'duplicate' | 'limit'> => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('herald.sending_domains'), hashtext($1))", [accountId]);
      if (await domainByName(tx, accountId, input.domain)) return 'duplicate';
      const [count] = (await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM sending_domains WHERE account_id = $1', [accountId])).rows;
      if (count!.n >= maxDomains) return 'limit';
      const [inserted] = (
        await tx.query<{ id: number }>('INSERT INTO sending_domains (account_id, domain, selector, valid, created_at) VALUES ($1, $2, $3, 0, $4) RETURNING id', [
          accountId,
          input.domain,
          input.selector,
          Date.now(),
        ])
      ).rows;
      const id = inserted!.id;
      for (const k of input.keys) {
        await tx.query('INSERT INTO dkim_keys (domain_id, algorithm, selector, public_key, private_key) VALUES ($1, $2, $3, $4, $5)', [
          id,
          k.algorithm,
          k.selector,
          k.publicKey,
          this.sealer.seal(k.privateKeyPem),
        ]);
      }
      return (await this.toDomains(tx, [(await domainById(tx, accountId, id))!]))[0]!;
    });
  }

  async get(accountId: string, id: number): Promise<SendingDomain | null> {
    const row = await domainById(pooled(this.db), accountId, id);
    return row ? (await this.toDomains(pooled(this.db), [row]))[0]! : null;
  }

  async findByName(accountId: string, domain: string): Promise<SendingDomain | null> {
    const row = await domainByName(pooled(this.db), accountId, domain);
    return row ? (await this.toDomains(pooled(this.db), [row]))[0]! : null;
  }

  async list(accountId: string): Promise<SendingDomain[]> {
    const rows = await this.db.query<DomainRow>('SELECT * FROM sending_domains WHERE account_id = $1 ORDER BY created_at, id', [accountId]);
    return this.toDomains(pooled(this.db), rows);
  }

  async delete(accountId: string, id: number): Promise<boolean> {
    if (!isDomainId(id)) return false;
    // Keys go with it: ON DELETE CASCADE.
    return ((await this.db.pool.query('DELETE FROM sending_domains WHERE account_id = $1 AND id = $2', [accountId, id])).rowCount ?? 0) > 0;
  }

  async markChecked(accountId: string, id: number, check: { valid: boolean; records: Record<string, RecordStatus>; at: number }): Promise<SendingDomain | null> {
    if (!isDomainId(id)) return null;
    const updated = await this.db.pool.query('UPDATE sending_domains SET valid = $1, validated_at = $2, last_check = $3 WHERE account_id = $4 AND id = $5', [
      check.valid ? 1 : 0,
      check.at,
      JSON.stringify(check.records),
      accountId,
      id,
    ]);
    if (!updated.rowCount) return null;
    return this.get(accountId, id);
  }

  async signingKeys(accountId: string, domain: string): Promise<DkimSigningKey[]> {
    const row = await domainByName(pooled(this.db), accountId, domain);
    if (!row || row.valid !== 1) return [];
    return (await keysOf(pooled(this.db), [row.id])).map((k) => ({
      domain: row.domain,
      selector: k.selector,
      algorithm: k.algorithm,
      privateKeyPem: this.sealer.open(k.private_key),
    }));
  }

  /** The domains with their public keys, read in one query for all. */
  private async toDomains(q: PgQueryable, rows: DomainRow[]): Promise<SendingDomain[]> {
    if (rows.length === 0) return [];
    const keys = await keysOf(q, rows.map((r) => r.id));
    return rows.map((row) => ({
      id: row.id,
      accountId: row.account_id,
      domain: row.domain,
      selector: row.selector,
      valid: row.valid === 1,
      validatedAt: row.validated_at,
      lastCheck: row.last_check ? (JSON.parse(row.last_check) as Record<string, RecordStatus>) : {},
      createdAt: row.created_at,
      keys: keys.filter((k) => k.domain_id === row.id).map((k): DkimPublicKey => ({ algorithm: k.algorithm, selector: k.selector, publicKey: k.public_key })),
    }));
  }
}

/**
 * Domain ids are BIGINT: one that is not a whole number in range names no domain (SQLite simply
 * finds none; PostgreSQL would refuse the parameter).
 */
function isDomainId(id: number): boolean {
  return Number.isSafeInteger(id);
}

async function domainById(q: PgQueryable, accountId: string, id: number): Promise<DomainRow | undefined> {
  if (!isDomainId(id)) return undefined;
  return (await q.query<DomainRow>('SELECT * FROM sending_domains WHERE account_id = $1 AND id = $2', [accountId, id])).rows[0];
}

async function domainByName(q: PgQueryable, accountId: string, domain: string): Promise<DomainRow | undefined> {
  // PostgreSQL text cannot hold NUL and refuses a parameter with one: such a name is no domain's.
  if (domain.includes('\0')) return undefined;
  return (await q.query<DomainRow>('SELECT * FROM sending_domains WHERE account_id = $1 AND domain = $2', [accountId, domain])).rows[0];
}

async function keysOf(q: PgQueryable, domainIds: number[]): Promise<KeyRow[]> {
  return (await q.query<KeyRow>(`SELECT domain_id, algorithm, selector, public_key, private_key FROM dkim_keys WHERE domain_id = ANY($1::bigint[]) ${KEY_ORDER}`, [domainIds])).rows;
}

/** The pool as a PgQueryable, for reads outside a transaction. */
function pooled(db: PgDatabase): PgQueryable {
  return db.pool as unknown as PgQueryable;
}
