import { type VersionRow, toVersionSummary, toVersion, definedOnly } from '../template-rows.js';
import { randomBytes, randomUUID } from 'node:crypto';
import type {
  NewTemplateVersion,
  Template,
  TemplateGeneration,
  TemplatePage,
  TemplateStore,
  TemplateSummary,
  TemplateVersion,
  TemplateVersionChanges,
} from '../../message/template-store.js';
import type { PgDatabase, PgQueryable } from './pg-database.js';

interface TemplateRow {
  id: string;
  account_id: string;
  name: string;
  generation: TemplateGeneration;
  created_at: number;
  updated_at: number;
}

const SUMMARY_COLUMNS = 'id, template_id, active, name, subject, updated_at';
/** Creation order; `created_at` is unique per template (see addVersion), `id` only breaks ties in foreign data. */
const VERSION_ORDER = 'ORDER BY created_at, id COLLATE "C"';

/**
 * Templates in two tables, with SqliteTemplates' behaviour. Writes that touch several rows (a limit
 * check and the insert it guards, activation, a new active version) run in one transaction that
 * first takes a transaction-level advisory lock on the account's templates: writers of one account
 * run one at a time in every process, as SQLite's IMMEDIATE transactions make them, so no one sees
 * two active versions or slips past a limit.
 *
 * PostgreSQL has no rowid to order rows created in the same millisecond: under that lock,
 * `created_at` is made unique and increasing per account (templates) and per template (versions),
 * at most a few ms ahead of the clock, so `(created_at, id)` is creation order, as SQLite's
 * `(created_at, rowid)` is. It is never shown (`updatedAt` is the clock's).
 */
export class PostgresTemplates implements TemplateStore {
  constructor(private readonly db: PgDatabase) {}

  async create(accountId: string, input: { name: string; generation: TemplateGeneration }, maxTemplates: number): Promise<Template | null> {
    return this.db.transaction(async (tx): Promise<Template | null> => {
      await lockTemplates(tx, accountId);
      const [stats] = (await tx.query<{ n: number; last: number | null }>('SELECT COUNT(*) AS n, MAX(created_at) AS last FROM templates WHERE account_id = $1', [accountId])).rows;
      if (stats!.n >= maxTemplates) return null;
      const now = Date.now();
      const row: TemplateRow = {
        id: `d-${randomBytes(16).toString('hex')}`,
        account_id: accountId,
        name: input.name,
        generation: input.generation,
        created_at: stats!.last === null ? now : Math.max(now, stats!.last + 1),
        updated_at: now,
      };
      await tx.query('INSERT INTO templates (id, account_id, name, generation, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', [
        row.id,
        row.account_id,
        row.name,
        row.generation,
        row.created_at,
        row.updated_at,
      ]);
      return { ...toTemplateBase(row), versions: [] };
    });
  }

  async get(accountId: string, templateId: string): Promise<Template | null> {
    const row = await templateOf(pooled(this.db), accountId, templateId);
    if (!row) return null;
    const versions = await this.db.query<VersionRow>(`SELECT * FROM template_versions WHERE template_id = $1 ${VERSION_ORDER}`, [row.id]);
    return { ...toTemplateBase(row), versions: versions.map(toVersion) };
  }

  async list(accountId: string, options: { generations: TemplateGeneration[]; limit: number; after?: string }): Promise<TemplatePage> {
    if (options.generations.length === 0) return { templates: [], next: null, total: 0 };
    const after = options.after !== undefined ? decodeCursor(options.after) : null;
    const fetch = options.limit + 1;
    const rows = await this.db.query<TemplateRow>(
      `SELECT * FROM templates WHERE account_id = $1 AND generation = ANY($2::text[])
        ${after ? 'AND (created_at > $4 OR (created_at = $4 AND id > $5 COLLATE "C"))' : ''}
        ORDER BY created_at, id COLLATE "C" LIMIT $3`,
      // SQLite reads a negative LIMIT as none; PostgreSQL refuses it, and reads NULL as none.
      [accountId, options.generations, fetch < 0 ? null : fetch, ...(after ? [after.createdAt, after.id] : [])],
    );
    const [count] = await this.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM templates WHERE account_id = $1 AND generation = ANY($2::text[])', [accountId, options.generations]);
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    const summaries = page.length === 0
      ? []
      : await this.db.query<VersionRow>(`SELECT ${SUMMARY_COLUMNS} FROM template_versions WHERE template_id = ANY($1::text[]) ${VERSION_ORDER}`, [page.map((r) => r.id)]);
    const templates: TemplateSummary[] = page.map((row) => ({
      ...toTemplateBase(row),
      versions: summaries.filter((v) => v.template_id === row.id).map(toVersionSummary),
    }));
    return { templates, next: rows.length > options.limit && last ? encodeCursor(last) : null, total: count!.n };
  }

  async rename(accountId: string, templateId: string, name: string): Promise<Template | null> {
    if (!storable(templateId)) return null;
    const renamed = await this.db.pool.query('UPDATE templates SET name = $1, updated_at = $2 WHERE account_id = $3 AND id = $4', [name, Date.now(), accountId, templateId]);
    if (!renamed.rowCount) return null;
    return this.get(accountId, templateId);
  }

  async delete(accountId: string, templateId: string): Promise<boolean> {
    // Under the lock, so a version being added to it either lands before (and goes with it) or
    // finds no template, as in SQLite. Versions go with it: ON DELETE CASCADE.
    if (!storable(templateId)) return false;
    return this.db.transaction(async (tx) => {
      await lockTemplates(tx, accountId);
      return ((await tx.query('DELETE FROM templates WHERE account_id = $1 AND id = $2', [accountId, templateId])).rowCount ?? 0) > 0;
    });
  }

  async addVersion(accountId: string, templateId: string, version: NewTemplateVersion, maxVersions: number): Promise<TemplateVersion | 'not_found' | 'limit'> {
    return this.db.transaction(async (tx): Promise<TemplateVersion | 'not_found' | 'limit'> => {
      await lockTemplates(tx, accountId);
      if (!(await templateOf(tx, accountId, templateId))) return 'not_found';
      const [all] = (await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM template_versions WHERE account_id = $1', [accountId])).rows;
      if (all!.n >= maxVersions) return 'limit';
      const [own] = (await tx.query<{ n: number; last: number | null }>('SELECT COUNT(*) AS n, MAX(created_at) AS last FROM template_versions WHERE template_id = $1', [templateId])).rows;
      // SendGrid: the first version created for a template is always active.
      const active = own!.n === 0 || version.active;
      // Deactivate first: the partial unique index allows one active row per template at any moment.
      if (active) await deactivateAll(tx, templateId);
      const now = Date.now();
      const createdAt = own!.last === null ? now : Math.max(now, own!.last + 1);
      const id = randomUUID();
      await tx.query(
        `INSERT INTO template_versions (id, template_id, account_id, active, name, subject, html_content, plain_content, created_at, updated_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [id, templateId, accountId, active ? 1 : 0, version.name, version.subject, version.htmlContent, version.plainContent, createdAt, now],
      );
      await touch(tx, templateId, now);
      return { id, templateId, active, name: version.name, subject: version.subject, htmlContent: version.htmlContent, plainContent: version.plainContent, updatedAt: now };
    });
  }

  async getVersion(accountId: string, templateId: string, versionId: string): Promise<TemplateVersion | null> {
    const row = await versionOf(pooled(this.db), accountId, templateId, versionId);
    return row ? toVersion(row) : null;
  }

  async updateVersion(accountId: string, templateId: string, versionId: string, changes: TemplateVersionChanges): Promise<TemplateVersion | null> {
    return this.db.transaction(async (tx): Promise<TemplateVersion | null> => {
      await lockTemplates(tx, accountId);
      const row = await versionOf(tx, accountId, templateId, versionId);
      if (!row) return null;
      const current = toVersion(row);
      const next: TemplateVersion = { ...current, ...definedOnly(changes), updatedAt: Date.now() };
      await tx.query('UPDATE template_versions SET name = $1, subject = $2, html_content = $3, plain_content = $4, updated_at = $5 WHERE id = $6', [
        next.name,
        next.subject,
        next.htmlContent,
        next.plainContent,
        next.updatedAt,
        versionId,
      ]);
      await touch(tx, templateId, next.updatedAt);
      return next;
    });
  }

  async activateVersion(accountId: string, templateId: string, versionId: string): Promise<TemplateVersion | null> {
    return this.db.transaction(async (tx): Promise<TemplateVersion | null> => {
      await lockTemplates(tx, accountId);
      if (!(await versionOf(tx, accountId, templateId, versionId))) return null;
      const now = Date.now();
      await deactivateAll(tx, templateId);
      await tx.query('UPDATE template_versions SET active = 1, updated_at = $1 WHERE id = $2', [now, versionId]);
      await touch(tx, templateId, now);
      return toVersion((await versionOf(tx, accountId, templateId, versionId))!);
    });
  }

  async deleteVersion(accountId: string, templateId: string, versionId: string): Promise<'deleted' | 'not_found' | 'active'> {
    return this.db.transaction(async (tx): Promise<'deleted' | 'not_found' | 'active'> => {
      await lockTemplates(tx, accountId);
      const row = await versionOf(tx, accountId, templateId, versionId);
      if (!row) return 'not_found';
      if (row.active === 1) {
        const [own] = (await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM template_versions WHERE template_id = $1', [templateId])).rows;
        if (own!.n > 1) return 'active';
      }
      await tx.query('DELETE FROM template_versions WHERE id = $1', [versionId]);
      await touch(tx, templateId, Date.now());
      return 'deleted';
    });
  }

  async activeVersion(accountId: string, templateId: string): Promise<{ templateId: string; version: TemplateVersion | null } | null> {
    const row = await templateOf(pooled(this.db), accountId, templateId);
    if (!row) return null;
    const [active] = await this.db.query<VersionRow>('SELECT * FROM template_versions WHERE template_id = $1 AND active = 1', [row.id]);
    return { templateId: row.id, version: active ? toVersion(active) : null };
  }
}

/**
 * PostgreSQL text cannot hold NUL, and refuses a parameter with one; such an id (e.g. `%00` in a
 * URL) names no row, so it is absent, as SQLite answers, not an error.
 */
function storable(key: string): boolean {
  return !key.includes('\0');
}

/** The pool as a PgQueryable, for reads outside a transaction. */
function pooled(db: PgDatabase): PgQueryable {
  return db.pool as unknown as PgQueryable;
}

/** Waits for, then holds until commit, the right to write this account's templates. */
async function lockTemplates(tx: PgQueryable, accountId: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('herald.templates'), hashtext($1))", [accountId]);
}

async function templateOf(q: PgQueryable, accountId: string, templateId: string): Promise<TemplateRow | undefined> {
  if (!storable(templateId)) return undefined;
  return (await q.query<TemplateRow>('SELECT * FROM templates WHERE account_id = $1 AND id = $2', [accountId, templateId])).rows[0];
}

async function versionOf(q: PgQueryable, accountId: string, templateId: string, versionId: string): Promise<VersionRow | undefined> {
  if (!storable(templateId) || !storable(versionId)) return undefined;
  return (await q.query<VersionRow>('SELECT * FROM template_versions WHERE account_id = $1 AND template_id = $2 AND id = $3', [accountId, templateId, versionId])).rows[0];
}

async function deactivateAll(tx: PgQueryable, templateId: string): Promise<void> {
  await tx.query('UPDATE template_versions SET active = 0 WHERE template_id = $1 AND active = 1', [templateId]);
}

async function touch(tx: PgQueryable, templateId: string, now: number): Promise<void> {
  await tx.query('UPDATE templates SET updated_at = $1 WHERE id = $2', [now, templateId]);
}

function toTemplateBase(row: TemplateRow): Omit<Template, 'versions'> {
  return { id: row.id, accountId: row.account_id, name: row.name, generation: row.generation, updatedAt: row.updated_at };
}

function encodeCursor(row: TemplateRow): string {
  return Buffer.from(`${row.created_at}:${row.id}`).toString('base64url');
}

/** An unreadable cursor starts after everything: an empty page, not an error from deep down. */
function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString();
  const colon = text.indexOf(':');
  const at = colon > 0 ? Number(text.slice(0, colon)) : NaN;
  const id = colon > 0 ? text.slice(colon + 1) : '';
  return Number.isSafeInteger(at) && id !== '' && storable(id) ? { createdAt: at, id } : { createdAt: Number.MAX_SAFE_INTEGER, id: '' };
}
