import { type VersionRow, toVersionSummary, toVersion, definedOnly } from '../template-rows.js';
import { randomBytes, randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
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

interface TemplateRow {
  /** SQLite's rowid: breaks ties between templates created in the same millisecond. */
  seq: number;
  id: string;
  account_id: string;
  name: string;
  generation: TemplateGeneration;
  created_at: number;
  updated_at: number;
}

const SUMMARY_COLUMNS = 'id, template_id, active, name, subject, updated_at';

/**
 * Templates in two tables. Writes that touch several rows (activation, a new active version, a
 * limit check and the insert it guards) run in one IMMEDIATE transaction, so a CLI or a second
 * request never sees two active versions or slips past a limit.
 */
export class SqliteTemplates implements TemplateStore {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      insert: db.prepare(`INSERT INTO templates (id, account_id, name, generation, created_at, updated_at)
        VALUES (@id, @account_id, @name, @generation, @created_at, @updated_at)`),
      byId: db.prepare('SELECT * FROM templates WHERE account_id = ? AND id = ?'),
      countOf: db.prepare('SELECT COUNT(*) AS n FROM templates WHERE account_id = ?'),
      rename: db.prepare('UPDATE templates SET name = ?, updated_at = ? WHERE account_id = ? AND id = ?'),
      touch: db.prepare('UPDATE templates SET updated_at = ? WHERE id = ?'),
      delete: db.prepare('DELETE FROM templates WHERE account_id = ? AND id = ?'),
      versionsOf: db.prepare('SELECT * FROM template_versions WHERE template_id = ? ORDER BY created_at, rowid'),
      summariesOf: db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM template_versions WHERE template_id = ? ORDER BY created_at, rowid`),
      version: db.prepare('SELECT * FROM template_versions WHERE account_id = ? AND template_id = ? AND id = ?'),
      activeOf: db.prepare('SELECT * FROM template_versions WHERE template_id = ? AND active = 1'),
      versionCountOf: db.prepare('SELECT COUNT(*) AS n FROM template_versions WHERE account_id = ?'),
      versionCountOfTemplate: db.prepare('SELECT COUNT(*) AS n FROM template_versions WHERE template_id = ?'),
      insertVersion: db.prepare(`INSERT INTO template_versions (id, template_id, account_id, active, name, subject,
        html_content, plain_content, created_at, updated_at)
        VALUES (@id, @template_id, @account_id, @active, @name, @subject, @html_content, @plain_content, @now, @now)`),
      updateVersion: db.prepare(`UPDATE template_versions SET name = @name, subject = @subject,
        html_content = @html_content, plain_content = @plain_content, updated_at = @now WHERE id = @id`),
      // Deactivate first: the partial unique index allows one active row per template at any moment.
      deactivateAll: db.prepare('UPDATE template_versions SET active = 0 WHERE template_id = ? AND active = 1'),
      activate: db.prepare('UPDATE template_versions SET active = 1, updated_at = ? WHERE id = ?'),
      deleteVersion: db.prepare('DELETE FROM template_versions WHERE id = ?'),
    };
  }

  async create(accountId: string, input: { name: string; generation: TemplateGeneration }, maxTemplates: number): Promise<Template | null> {
    return this.db.transaction((): Template | null => {
      if ((this.stmt.countOf.get(accountId) as { n: number }).n >= maxTemplates) return null;
      const now = Date.now();
      const row = { id: `d-${randomBytes(16).toString('hex')}`, account_id: accountId, name: input.name, generation: input.generation, created_at: now, updated_at: now };
      this.stmt.insert.run(row);
      return { ...toTemplateBase(row), versions: [] };
    }).immediate();
  }

  async get(accountId: string, templateId: string): Promise<Template | null> {
    const row = this.stmt.byId.get(accountId, templateId) as Omit<TemplateRow, 'seq'> | undefined;
    if (!row) return null;
    return { ...toTemplateBase(row), versions: (this.stmt.versionsOf.all(row.id) as VersionRow[]).map(toVersion) };
  }

  async list(accountId: string, options: { generations: TemplateGeneration[]; limit: number; after?: string }): Promise<TemplatePage> {
    if (options.generations.length === 0) return { templates: [], next: null, total: 0 };
    const marks = options.generations.map(() => '?').join(', ');
    const after = options.after !== undefined ? decodeCursor(options.after) : null;
    const rows = this.db
      .prepare(`SELECT rowid AS seq, * FROM templates WHERE account_id = ? AND generation IN (${marks})
        ${after ? 'AND (created_at > ? OR (created_at = ? AND rowid > ?))' : ''}
        ORDER BY created_at, rowid LIMIT ?`)
      .all(accountId, ...options.generations, ...(after ? [after.createdAt, after.createdAt, after.seq] : []), options.limit + 1) as TemplateRow[];
    const total = (this.db
      .prepare(`SELECT COUNT(*) AS n FROM templates WHERE account_id = ? AND generation IN (${marks})`)
      .get(accountId, ...options.generations) as { n: number }).n;
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    const templates: TemplateSummary[] = page.map((row) => ({
      ...toTemplateBase(row),
      versions: (this.stmt.summariesOf.all(row.id) as VersionRow[]).map(toVersionSummary),
    }));
    return { templates, next: rows.length > options.limit && last ? encodeCursor(last) : null, total };
  }

  async rename(accountId: string, templateId: string, name: string): Promise<Template | null> {
    if (this.stmt.rename.run(name, Date.now(), accountId, templateId).changes === 0) return null;
    return this.get(accountId, templateId);
  }

  async delete(accountId: string, templateId: string): Promise<boolean> {
    // Versions go with it: ON DELETE CASCADE (foreign_keys is on for every connection).
    return this.stmt.delete.run(accountId, templateId).changes > 0;
  }

  async addVersion(accountId: string, templateId: string, version: NewTemplateVersion, maxVersions: number): Promise<TemplateVersion | 'not_found' | 'limit'> {
    return this.db.transaction((): TemplateVersion | 'not_found' | 'limit' => {
      if (!this.stmt.byId.get(accountId, templateId)) return 'not_found';
      if ((this.stmt.versionCountOf.get(accountId) as { n: number }).n >= maxVersions) return 'limit';
      // SendGrid: the first version created for a template is always active.
      const first = (this.stmt.versionCountOfTemplate.get(templateId) as { n: number }).n === 0;
      const active = first || version.active;
      if (active) this.stmt.deactivateAll.run(templateId);
      const now = Date.now();
      const id = randomUUID();
      this.stmt.insertVersion.run({
        id,
        template_id: templateId,
        account_id: accountId,
        active: active ? 1 : 0,
        name: version.name,
        subject: version.subject,
        html_content: version.htmlContent,
        plain_content: version.plainContent,
        now,
      });
      this.stmt.touch.run(now, templateId);
      return { id, templateId, active, name: version.name, subject: version.subject, htmlContent: version.htmlContent, plainContent: version.plainContent, updatedAt: now };
    }).immediate();
  }

  async getVersion(accountId: string, templateId: string, versionId: string): Promise<TemplateVersion | null> {
    const row = this.stmt.version.get(accountId, templateId, versionId) as VersionRow | undefined;
    return row ? toVersion(row) : null;
  }

  async updateVersion(accountId: string, templateId: string, versionId: string, changes: TemplateVersionChanges): Promise<TemplateVersion | null> {
    return this.db.transaction((): TemplateVersion | null => {
      const row = this.stmt.version.get(accountId, templateId, versionId) as VersionRow | undefined;
      if (!row) return null;
      const current = toVersion(row);
      const next: TemplateVersion = { ...current, ...definedOnly(changes), updatedAt: Date.now() };
      this.stmt.updateVersion.run({
        id: versionId,
        name: next.name,
        subject: next.subject,
        html_content: next.htmlContent,
        plain_content: next.plainContent,
        now: next.updatedAt,
      });
      this.stmt.touch.run(next.updatedAt, templateId);
      return next;
    }).immediate();
  }

  async activateVersion(accountId: string, templateId: string, versionId: string): Promise<TemplateVersion | null> {
    return this.db.transaction((): TemplateVersion | null => {
      if (!this.stmt.version.get(accountId, templateId, versionId)) return null;
      const now = Date.now();
      this.stmt.deactivateAll.run(templateId);
      this.stmt.activate.run(now, versionId);
      this.stmt.touch.run(now, templateId);
      return toVersion(this.stmt.version.get(accountId, templateId, versionId) as VersionRow);
    }).immediate();
  }

  async deleteVersion(accountId: string, templateId: string, versionId: string): Promise<'deleted' | 'not_found' | 'active'> {
    return this.db.transaction((): 'deleted' | 'not_found' | 'active' => {
      const row = this.stmt.version.get(accountId, templateId, versionId) as VersionRow | undefined;
      if (!row) return 'not_found';
      if (row.active === 1 && (this.stmt.versionCountOfTemplate.get(templateId) as { n: number }).n > 1) return 'active';
      this.stmt.deleteVersion.run(versionId);
      this.stmt.touch.run(Date.now(), templateId);
      return 'deleted';
    }).immediate();
  }

  async activeVersion(accountId: string, templateId: string): Promise<{ templateId: string; version: TemplateVersion | null } | null> {
    const row = this.stmt.byId.get(accountId, templateId) as Omit<TemplateRow, 'seq'> | undefined;
    if (!row) return null;
    const active = this.stmt.activeOf.get(row.id) as VersionRow | undefined;
    return { templateId: row.id, version: active ? toVersion(active) : null };
  }
}

function toTemplateBase(row: Omit<TemplateRow, 'seq'>): Omit<Template, 'versions'> {
  return { id: row.id, accountId: row.account_id, name: row.name, generation: row.generation, updatedAt: row.updated_at };
}

function encodeCursor(row: TemplateRow): string {
  return Buffer.from(`${row.created_at}:${row.seq}`).toString('base64url');
}

/** An unreadable cursor starts after everything: an empty page, not an error from deep down. */
function decodeCursor(cursor: string): { createdAt: number; seq: number } {
  const [at, seq] = Buffer.from(cursor, 'base64url').toString().split(':').map(Number);
  return Number.isSafeInteger(at) && Number.isSafeInteger(seq) ? { createdAt: at!, seq: seq! } : { createdAt: Number.MAX_SAFE_INTEGER, seq: 0 };
}
