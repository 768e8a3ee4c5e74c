import { type SuppressionRow, type GroupRow, toGroup } from '../suppression-rows.js';
import type {
  GroupInput,
  ListOptions,
  NewSuppression,
  Suppression,
  SuppressionGroup,
  SuppressionList,
  SuppressionMatch,
  SuppressionStore,
} from '../../suppressions/suppression-store.js';
import type { PgDatabase, PgQueryable } from './pg-database.js';
import { firstMatches } from '../../suppressions/suppression-store.js';

/**
 * Adds or refreshes one address on one list (never a group: group_id 0), as SQLite's
 * UPSERT_SUPPRESSION: an address already listed keeps its `created_at` and takes the new reason,
 * status and ip. Shared with the queue, which runs it in the same transaction as the bounce event
 * that caused it. Parameters:
 *
 *   $1 account_id  text
 *   $2 email       text, already lower-cased by the caller (`email.toLowerCase()`), as for SQLite
 *   $3 list        text, a SuppressionList ('bounces', 'blocks', ...)
 *   $4 reason      text | null
 *   $5 status      text | null
 *   $6 ip          text | null
 *   $7 created_at  epoch ms (number)
 */
export const PG_UPSERT_SUPPRESSION = `INSERT INTO suppressions (account_id, email, list, group_id, reason, status, ip, created_at)
  VALUES ($1, $2, $3, 0, $4, $5, $6, $7)
  ON CONFLICT (account_id, email, list, group_id) DO UPDATE SET reason = EXCLUDED.reason, status = EXCLUDED.status, ip = EXCLUDED.ip`;

/** PG_UPSERT_SUPPRESSION for many addresses of one list in one statement; addresses must be distinct. */
const UPSERT_MANY = `INSERT INTO suppressions (account_id, email, list, group_id, reason, status, ip, created_at)
  SELECT $1, e.email, $2, 0, e.reason, e.status, e.ip, $3
    FROM unnest($4::text[], $5::text[], $6::text[], $7::text[]) AS e(email, reason, status, ip)
  ON CONFLICT (account_id, email, list, group_id) DO UPDATE SET reason = EXCLUDED.reason, status = EXCLUDED.status, ip = EXCLUDED.ip`;

const GROUP_COLUMNS = `g.id, g.name, g.description, g.is_default,
  (SELECT COUNT(*) FROM suppressions s WHERE s.account_id = g.account_id AND s.list = 'group' AND s.group_id = g.id) AS unsubscribes`;

/**
 * Suppressions in two tables, with SqliteSuppressions' behaviour. Group writes (a limit or name
 * check and the write it guards; a deletion and the members it takes) run in one transaction that
 * first takes a transaction-level advisory lock on the account's groups, so writers of one account
 * run one at a time in every process, as SQLite's IMMEDIATE transactions make them. Text orders
 * are by code point (COLLATE "C"), as SQLite's BINARY, whatever the database's collation.
 */
export class PostgresSuppressions implements SuppressionStore {
  constructor(private readonly db: PgDatabase) {}

  async add(accountId: string, list: SuppressionList, entries: NewSuppression[]): Promise<void> {
    // One statement for all: ON CONFLICT DO UPDATE may touch a row once per statement, so an
    // address given twice keeps its last entry, as SQLite's one-by-one upserts leave it; sorted,
    // so two concurrent calls lock their rows in the same order and cannot deadlock.
    const byEmail = new Map<string, NewSuppression>();
    for (const e of entries) byEmail.set(e.email.toLowerCase(), e);
    if (byEmail.size === 0) return;
    const emails = [...byEmail.keys()].sort();
    const chosen = emails.map((email) => byEmail.get(email)!);
    await this.db.query(UPSERT_MANY, [
      accountId,
      list,
      Date.now(),
      emails,
      chosen.map((e) => e.reason ?? null),
      chosen.map((e) => e.status ?? null),
      chosen.map((e) => e.ip ?? null),
    ]);
  }

  async remove(accountId: string, list: SuppressionList, emails: string[] | 'all'): Promise<number> {
    if (emails === 'all') return rowCount(await this.db.pool.query('DELETE FROM suppressions WHERE account_id = $1 AND list = $2 AND group_id = 0', [accountId, list]));
    if (emails.length === 0) return 0;
    return rowCount(
      await this.db.pool.query('DELETE FROM suppressions WHERE account_id = $1 AND list = $2 AND group_id = 0 AND email = ANY($3::text[])', [
        accountId,
        list,
        emails.map((e) => e.toLowerCase()),
      ]),
    );
  }

  async list(accountId: string, list: SuppressionList, options: ListOptions): Promise<Suppression[]> {
    const where = ['account_id = $1', 'list = $2', 'group_id = 0'];
    const args: (string | number | null)[] = [accountId, list];
    if (options.email !== undefined) {
      args.push(options.email.toLowerCase());
      where.push(`email = $${args.length}`);
    }
    if (options.startTime !== undefined) {
      args.push(options.startTime);
      where.push(`created_at >= $${args.length}`);
    }
    if (options.endTime !== undefined) {
      args.push(options.endTime);
      where.push(`created_at <= $${args.length}`);
    }
    // SQLite reads a negative LIMIT as none and a negative OFFSET as 0; PostgreSQL refuses both.
    args.push(options.limit < 0 ? null : options.limit, Math.max(0, options.offset));
    const rows = await this.db.query<SuppressionRow>(
      `SELECT email, list, reason, status, ip, created_at FROM suppressions WHERE ${where.join(' AND ')}
        ORDER BY created_at DESC, email COLLATE "C" LIMIT $${args.length - 1} OFFSET $${args.length}`,
      args,
    );
    return rows.map((r) => ({ email: r.email, list: r.list, reason: r.reason, status: r.status, ip: r.ip, createdAt: r.created_at }));
  }

  async find(accountId: string, email: string, groupId: number | null): Promise<SuppressionMatch | null> {
    return (await this.findMany(accountId, [email], groupId)).get(email.toLowerCase()) ?? null;
  }

  async findMany(accountId: string, emails: readonly string[], groupId: number | null): Promise<Map<string, SuppressionMatch>> {
    if (emails.length === 0) return new Map();
    // One round trip for all of them, cheap before every delivery: the primary key
    // (account_id, email, ...) once per address.
    const rows = await this.db.query<{ email: string; list: SuppressionMatch['list']; group_id: number }>(
      `SELECT email, list, group_id FROM suppressions
        WHERE account_id = $1 AND email = ANY($2::text[])
          AND ((group_id = 0 AND list IN ('bounces', 'spam_reports', 'invalid_emails', 'unsubscribes'))
            OR (list = 'group' AND group_id = $3))`,
      [accountId, emails.map((e) => e.toLowerCase()), groupId !== null && isGroupId(groupId) ? groupId : -1],
    );
    return firstMatches(rows);
  }

  async createGroup(accountId: string, input: GroupInput, maxGroups: number): Promise<SuppressionGroup | 'limit' | 'duplicate'> {
    return this.db.transaction(async (tx): Promise<SuppressionGroup | 'limit' | 'duplicate'> => {
      await lockGroups(tx, accountId);
      const [count] = (await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM suppression_groups WHERE account_id = $1', [accountId])).rows;
      if (count!.n >= maxGroups) return 'limit';
      if (await groupIdByName(tx, accountId, input.name)) return 'duplicate';
      if (input.isDefault) await clearDefault(tx, accountId);
      const [inserted] = (
        await tx.query<{ id: number }>('INSERT INTO suppression_groups (account_id, name, description, is_default, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id', [
          accountId,
          input.name,
          input.description,
          input.isDefault ? 1 : 0,
          Date.now(),
        ])
      ).rows;
      return { id: inserted!.id, name: input.name, description: input.description, isDefault: input.isDefault, unsubscribes: 0 };
    });
  }

  async getGroup(accountId: string, groupId: number): Promise<SuppressionGroup | null> {
    const row = await groupOf(pooled(this.db), accountId, groupId);
    return row ? toGroup(row) : null;
  }

  async listGroups(accountId: string, ids?: number[]): Promise<SuppressionGroup[]> {
    const all = (await this.db.query<GroupRow>(`SELECT ${GROUP_COLUMNS} FROM suppression_groups g WHERE g.account_id = $1 ORDER BY g.id`, [accountId])).map(toGroup);
    return ids === undefined ? all : all.filter((g) => ids.includes(g.id));
  }

  async updateGroup(accountId: string, groupId: number, changes: Partial<GroupInput>): Promise<SuppressionGroup | null | 'duplicate'> {
    return this.db.transaction(async (tx): Promise<SuppressionGroup | null | 'duplicate'> => {
      await lockGroups(tx, accountId);
      const row = await groupOf(tx, accountId, groupId);
      if (!row) return null;
      const current = toGroup(row);
      const next = { ...current, ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) } as SuppressionGroup;
      if (next.name !== current.name) {
        const other = await groupIdByName(tx, accountId, next.name);
        if (other !== null && other !== groupId) return 'duplicate';
      }
      if (next.isDefault && !current.isDefault) await clearDefault(tx, accountId);
      await tx.query('UPDATE suppression_groups SET name = $1, description = $2, is_default = $3 WHERE account_id = $4 AND id = $5', [
        next.name,
        next.description,
        next.isDefault ? 1 : 0,
        accountId,
        groupId,
      ]);
      return next;
    });
  }

  async deleteGroup(accountId: string, groupId: number): Promise<boolean> {
    if (!isGroupId(groupId)) return false;
    return this.db.transaction(async (tx) => {
      await lockGroups(tx, accountId);
      if (rowCount(await tx.query('DELETE FROM suppression_groups WHERE account_id = $1 AND id = $2', [accountId, groupId])) === 0) return false;
      await tx.query("DELETE FROM suppressions WHERE account_id = $1 AND list = 'group' AND group_id = $2", [accountId, groupId]);
      return true;
    });
  }

  async addToGroup(accountId: string, groupId: number, emails: string[]): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // Under the lock, so a group being deleted either takes these members with it or is gone first.
      await lockGroups(tx, accountId);
      if (!(await groupOf(tx, accountId, groupId))) return false;
      if (emails.length === 0) return true;
      await tx.query(
        `INSERT INTO suppressions (account_id, email, list, group_id, created_at)
          SELECT $1, e.email, 'group', $2, $3 FROM unnest($4::text[]) AS e(email)
          ON CONFLICT DO NOTHING`,
        [accountId, groupId, Date.now(), [...new Set(emails.map((e) => e.toLowerCase()))].sort()],
      );
      return true;
    });
  }

  async removeFromGroup(accountId: string, groupId: number, email: string): Promise<'removed' | 'not_listed' | 'no_group'> {
    if (!(await groupOf(pooled(this.db), accountId, groupId))) return 'no_group';
    const removed = await this.db.pool.query("DELETE FROM suppressions WHERE account_id = $1 AND list = 'group' AND group_id = $2 AND email = $3", [
      accountId,
      groupId,
      email.toLowerCase(),
    ]);
    return rowCount(removed) > 0 ? 'removed' : 'not_listed';
  }

  async groupMembers(accountId: string, groupId: number): Promise<string[] | null> {
    if (!(await groupOf(pooled(this.db), accountId, groupId))) return null;
    const rows = await this.db.query<{ email: string }>(
      `SELECT email FROM suppressions WHERE account_id = $1 AND list = 'group' AND group_id = $2 ORDER BY created_at, email COLLATE "C"`,
      [accountId, groupId],
    );
    return rows.map((r) => r.email);
  }
}

/** Waits for, then holds until commit, the right to write this account's unsubscribe groups. */
async function lockGroups(tx: PgQueryable, accountId: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('herald.suppression_groups'), hashtext($1))", [accountId]);
}

/**
 * Group ids are BIGINT: one that is not a whole number in range names no group (SQLite simply
 * finds none; PostgreSQL would refuse the parameter).
 */
function isGroupId(id: number): boolean {
  return Number.isSafeInteger(id);
}

async function groupOf(q: PgQueryable, accountId: string, groupId: number): Promise<GroupRow | undefined> {
  if (!isGroupId(groupId)) return undefined;
  return (await q.query<GroupRow>(`SELECT ${GROUP_COLUMNS} FROM suppression_groups g WHERE g.account_id = $1 AND g.id = $2`, [accountId, groupId])).rows[0];
}

async function groupIdByName(q: PgQueryable, accountId: string, name: string): Promise<number | null> {
  return (await q.query<{ id: number }>('SELECT id FROM suppression_groups WHERE account_id = $1 AND name = $2', [accountId, name])).rows[0]?.id ?? null;
}

async function clearDefault(tx: PgQueryable, accountId: string): Promise<void> {
  await tx.query('UPDATE suppression_groups SET is_default = 0 WHERE account_id = $1 AND is_default = 1', [accountId]);
}

function rowCount(result: { rowCount: number | null }): number {
  return result.rowCount ?? 0;
}

/** The pool as a PgQueryable, for reads outside a transaction. */
function pooled(db: PgDatabase): PgQueryable {
  return db.pool as unknown as PgQueryable;
}

