/**
 * SendGrid's transactional templates: a named template of one account holds versions, each with
 * its own subject and content; at most one version is active, and that is the one mail uses.
 */
export interface TemplateVersion {
  /** A UUID, as SendGrid's. */
  id: string;
  templateId: string;
  active: boolean;
  name: string;
  subject: string | null;
  htmlContent: string | null;
  plainContent: string | null;
  /** Epoch ms. */
  updatedAt: number;
}

/** Only dynamic (Handlebars) templates are stored; SendGrid's legacy generation is refused. */
export type TemplateGeneration = 'dynamic';

export interface Template {
  /** `d-` and 32 lowercase hex digits, as SendGrid's dynamic template ids. */
  id: string;
  accountId: string;
  name: string;
  generation: TemplateGeneration;
  /** Epoch ms. */
  updatedAt: number;
  /** Oldest first. */
  versions: TemplateVersion[];
}

/** A version without its content, as template listings show it. */
export type TemplateVersionSummary = Omit<TemplateVersion, 'htmlContent' | 'plainContent'>;

/** A template as listings show it: its versions without their content. */
export type TemplateSummary = Omit<Template, 'versions'> & { versions: TemplateVersionSummary[] };

/** The content a new version is created with. */
export interface NewTemplateVersion {
  name: string;
  subject: string | null;
  htmlContent: string | null;
  plainContent: string | null;
  /** Ignored for a template's first version, which is always active (SendGrid). */
  active: boolean;
}

/** Fields of a version to change; absent ones keep their value. */
export interface TemplateVersionChanges {
  name?: string;
  subject?: string | null;
  htmlContent?: string | null;
  plainContent?: string | null;
}

/** Where the next page of a listing starts; opaque to callers. */
export type TemplateCursor = string;

export interface TemplatePage {
  templates: TemplateSummary[];
  /** Null on the last page. */
  next: TemplateCursor | null;
  /** How many templates of the asked generations the account has in all. */
  total: number;
}

/**
 * The templates port. Every verb takes the account and sees only that account's templates: a
 * template of another account is reported as absent (null / false), never as forbidden.
 */
export interface TemplateStore {
  /** Null when the account already holds `maxTemplates` templates. */
  create(accountId: string, input: { name: string; generation: TemplateGeneration }, maxTemplates: number): Promise<Template | null>;
  get(accountId: string, templateId: string): Promise<Template | null>;
  /** Oldest first, `limit` at a time. */
  list(accountId: string, options: { generations: TemplateGeneration[]; limit: number; after?: TemplateCursor }): Promise<TemplatePage>;
  rename(accountId: string, templateId: string, name: string): Promise<Template | null>;
  /** Deletes the template with its versions; false when there is none. */
  delete(accountId: string, templateId: string): Promise<boolean>;

  /**
   * Adds a version; when it is active (or the first) it becomes the only active one.
   * `'not_found'` when there is no such template, `'limit'` when the account already holds
   * `maxVersions` versions across its templates.
   */
  addVersion(accountId: string, templateId: string, version: NewTemplateVersion, maxVersions: number): Promise<TemplateVersion | 'not_found' | 'limit'>;
  getVersion(accountId: string, templateId: string, versionId: string): Promise<TemplateVersion | null>;
  updateVersion(accountId: string, templateId: string, versionId: string, changes: TemplateVersionChanges): Promise<TemplateVersion | null>;
  /** Makes this version the template's only active one. */
  activateVersion(accountId: string, templateId: string, versionId: string): Promise<TemplateVersion | null>;
  /**
   * Deletes a version. The active version is kept (`'active'`) while others remain, so a
   * template with versions always has one active; the last version may go.
   */
  deleteVersion(accountId: string, templateId: string, versionId: string): Promise<'deleted' | 'not_found' | 'active'>;

  /** What mail send needs: the template and its active version (null when it has none). */
  activeVersion(accountId: string, templateId: string): Promise<{ templateId: string; version: TemplateVersion | null } | null>;
}
