import type { TemplateVersion, TemplateVersionSummary } from '../message/template-store.js';

// Rows of the same tables read the same way in every backend.

export interface VersionRow {
  id: string;
  template_id: string;
  active: number;
  name: string;
  subject: string | null;
  html_content?: string | null;
  plain_content?: string | null;
  updated_at: number;
}

export function toVersionSummary(row: VersionRow): TemplateVersionSummary {
  return { id: row.id, templateId: row.template_id, active: row.active === 1, name: row.name, subject: row.subject, updatedAt: row.updated_at };
}

export function toVersion(row: VersionRow): TemplateVersion {
  return { ...toVersionSummary(row), htmlContent: row.html_content ?? null, plainContent: row.plain_content ?? null };
}

export function definedOnly<T extends object>(changes: T): Partial<T> {
  return Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as Partial<T>;
}
