import { type SuppressionRow, type GroupRow, toGroup } from '../suppression-rows.js';
import type Database from 'better-sqlite3';
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
import { firstMatches } from '../../suppressions/suppression-store.js';

/**
 * Adds or refreshes one address on one list. Shared with the queue, which runs it in the same
 * transaction as the bounce event that caused it.
 */
export const UPSERT_SUPPRESSION = `INSERT INTO suppressions (account_id, email, list, group_id, reason, status, ip, created_at)
  VALUES (@account_id, @email, @list, 0, @reason, @status, @ip, @created_at)
  ON CONFLICT (account_id, email, list, group_id) DO UPDATE SET reason = excluded.reason, status = excluded.status, ip = excluded.ip`;

const GROUP_COLUMNS = `g.id, g.name, g.description, g.is_default,
  (SELECT COUNT(*) FROM suppressions s WHERE s.account_id = g.account_id AND s.list = 'group' AND s.group_id = g.id) AS unsubscribes`;

/**
 * Suppressions in two tables, on the durable connection: an address a caller was told is
 * suppressed must stay suppressed after a power cut. Multi-row writes run in one IMMEDIATE
 * transaction so a limit check and the insert it guards cannot interleave with another writer.
 */
export class SqliteSuppressions implements SuppressionStore {
  private readonly stmt;

  /**
   * @param reader the connection `find` and `findMany` read through (before every delivery): the one
   *   the queue writes through, whose page cache those writes keep warm. Another connection's
   *   cache is dropped each time the file changes under it, which at full load is every commit.
   */
  constructor(
    private readonly db: Database.Database,
    reader: Database.Database = db,
  ) {
    this.stmt = {
      upsert: db.prepare(UPSERT_SUPPRESSION),
      removeAll: db.prepare("DELETE FROM suppressions WHERE account_id = ? AND list = ? AND group_id = 0"),
      removeOne: db.prepare('DELETE FROM suppressions WHERE account_id = ? AND list = ? AND group_id = 0 AND email = ?'),
      // What suppresses each of a JSON array of addresses: one seek each on the primary key
      // (account_id, email, ...), in one statement. Cheap before every delivery.
      findMany: reader.prepare(`SELECT email, list, group_id FROM suppressions
        WHERE account_id = @account_id AND email IN (SELECT value FROM json_each(@emails))
          AND ((group_id = 0 AND list IN ('bounces', 'spam_reports', 'invalid_emails', 'unsubscribes'))
            OR (list = 'group' AND group_id = @group_id))`),
      groupCount: db.prepare('SELECT COUNT(*) AS n FROM suppression_groups WHERE account_id = ?'),
      groupByName: db.prepare('SELECT id FROM suppression_groups WHERE account_id = ? AND name = ?'),
      insertGroup: db.prepare(`INSERT INTO suppression_groups (account_id, name, description, is_default, created_at)
        VALUES (?, ?, ?, ?, ?)`),
      clearDefault: db.prepare('UPDATE suppression_groups SET is_default = 0 WHERE account_id = ? AND is_default = 1'),
      group: db.prepare(`SELECT ${GROUP_COLUMNS} FROM suppression_groups g WHERE g.account_id = ? AND g.id = ?`),
      groups: db.prepare(`SELECT ${GROUP_COLUMNS} FROM suppression_groups g WHERE g.account_id = ? ORDER BY g.id`),
      updateGroup: db.prepare('UPDATE suppression_groups SET name = ?, description = ?, is_default = ? WHERE account_id = ? AND id = ?'),
      deleteGroup: db.prepare('DELETE FROM suppression_groups WHERE account_id = ? AND id = ?'),
      deleteGroupMembers: db.prepare("DELETE FROM suppressions WHERE account_id = ? AND list = 'group' AND group_id = ?"),
      addMember: db.prepare(`INSERT OR IGNORE INTO suppressions (account_id, email, list, group_id, created_at)
        VALUES (?, ?, 'group', ?, ?)`),
      removeMember: db.prepare("DELETE FROM suppressions WHERE account_id = ? AND list = 'group' AND group_id = ? AND email = ?"),
      members: db.prepare("SELECT email FROM suppressions WHERE account_id = ? AND list = 'group' AND group_id = ? ORDER BY created_at, email"),
    };
  }

  async add(accountId: string, list: SuppressionList, entries: NewSuppression[]): Promise<void> {
    const now = Date.now();
    this.db.transaction(() => {
      for (const e of entries) {
        this.stmt.upsert.run({ account_id: accountId, email: e.email.toLowerCase(), list, reason: e.reason ?? null, status: e.status ?? null, ip: e.ip ?? null, created_at: now });
      }
    }).immediate();
  }

  async remove(accountId: string, list: SuppressionList, emails: string[] | 'all'): Promise<number> {
    if (emails === 'all') return this.stmt.removeAll.run(accountId, list).changes;
    return this.db.transaction(() => emails.reduce((n, e) => n + this.stmt.removeOne.run(accountId, list, e.toLowerCase()).changes, 0)).immediate();
  }

  async list(accountId: string, list: SuppressionList, options: ListOptions): Promise<Suppression[]> {
    const where = ['account_id = ?', 'list = ?', 'group_id = 0'];
    const args: (string | number)[] = [accountId, list];
    if (options.email !== undefined) {
      where.push('email = ?');
      args.push(options.email.toLowerCase());
    }
    if (options.startTime !== undefined) {
      where.push('created_at >= ?');
      args.push(options.startTime);
    }
    if (options.endTime !== undefined) {
      where.push('created_at <= ?');
      args.push(options.endTime);
    }
    const rows = this.db
      .prepare(`SELECT email, list, reason, status, ip, created_at FROM suppressions WHERE ${where.join(' AND ')}
        ORDER BY created_at DESC, email LIMIT ? OFFSET ?`)
      .all(...args, options.limit, options.offset) as SuppressionRow[];
    return rows.map((r) => ({ email: r.email, list: r.list, reason: r.reason, status: r.status, ip: r.ip, createdAt: r.created_at }));
  }

  async find(accountId: string, email: string, groupId: number | null): Promise<SuppressionMatch | null> {
    return (await this.findMany(accountId, [email], groupId)).get(email.toLowerCase()) ?? null;
  }

  async findMany(accountId: string, emails: readonly string[], groupId: number | null): Promise<Map<string, SuppressionMatch>> {
    if (emails.length === 0) return new Map();
    const rows = this.stmt.findMany.all({ account_id: accountId, emails: JSON.stringify(emails.map((e) => e.toLowerCase())), group_id: groupId ?? -1 });
    return firstMatches(rows as Parameters<typeof firstMatches>[0]);
  }

  async createGroup(accountId: string, input: GroupInput, maxGroups: number): Promise<SuppressionGroup | 'limit' | 'duplicate'> {
    return this.db.transaction((): SuppressionGroup | 'limit' | 'duplicate' => {
      if ((this.stmt.groupCount.get(accountId) as { n: number }).n >= maxGroups) return 'limit';
      if (this.stmt.groupByName.get(accountId, input.name)) return 'duplicate';
      if (input.isDefault) this.stmt.clearDefault.run(accountId);
      const id = Number(this.stmt.insertGroup.run(accountId, input.name, input.description, input.isDefault ? 1 : 0, Date.now()).lastInsertRowid);
      return { id, name: input.name, description: input.description, isDefault: input.isDefault, unsubscribes: 0 };
    }).immediate();
  }

  async getGroup(accountId: string, groupId: number): Promise<SuppressionGroup | null> {
    const row = this.stmt.group.get(accountId, groupId) as GroupRow | undefined;
    return row ? toGroup(row) : null;
  }

  async listGroups(accountId: string, ids?: number[]): Promise<SuppressionGroup[]> {
    const all = (this.stmt.groups.all(accountId) as GroupRow[]).map(toGroup);
    return ids === undefined ? all : all.filter((g) => ids.includes(g.id));
  }

  async updateGroup(accountId: string, groupId: number, changes: Partial<GroupInput>): Promise<SuppressionGroup | null | 'duplicate'> {
    return this.db.transaction((): SuppressionGroup | null | 'duplicate' => {
      const row = this.stmt.group.get(accountId, groupId) as GroupRow | undefined;
      if (!row) return null;
      const current = toGroup(row);
      const next = { ...current, ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) } as SuppressionGroup;
      if (next.name !== current.name) {
        const other = this.stmt.groupByName.get(accountId, next.name) as { id: number } | undefined;
        if (other && other.id !== groupId) return 'duplicate';
      }
      if (next.isDefault && !current.isDefault) this.stmt.clearDefault.run(accountId);
      this.stmt.updateGroup.run(next.name, next.description, next.isDefault ? 1 : 0, accountId, groupId);
      return next;
    }).immediate();
  }

  async deleteGroup(accountId: string, groupId: number): Promise<boolean> {
    return this.db.transaction(() => {
      if (this.stmt.deleteGroup.run(accountId, groupId).changes === 0) return false;
      this.stmt.deleteGroupMembers.run(accountId, groupId);
      return true;
    }).immediate();
  }

  async addToGroup(accountId: string, groupId: number, emails: string[]): Promise<boolean> {
    return this.db.transaction(() => {
      if (!this.stmt.group.get(accountId, groupId)) return false;
      const now = Date.now();
      for (const e of emails) this.stmt.addMember.run(accountId, e.toLowerCase(), groupId, now);
      return true;
    }).immediate();
  }

  async removeFromGroup(accountId: string, groupId: number, email: string): Promise<'removed' | 'not_listed' | 'no_group'> {
    if (!this.stmt.group.get(accountId, groupId)) return 'no_group';
    return this.stmt.removeMember.run(accountId, groupId, email.toLowerCase()).changes > 0 ? 'removed' : 'not_listed';
  }

  async groupMembers(accountId: string, groupId: number): Promise<string[] | null> {
    if (!this.stmt.group.get(accountId, groupId)) return null;
    return (this.stmt.members.all(accountId, groupId) as { email: string }[]).map((r) => r.email);
  }
}

