import { HeraldError } from '../errors.js';
import { Problems, hasLineBreak, isPlainObject } from './field-checks.js';
import { checkTemplateSource } from './render-template.js';
import type { TemplateGeneration, TemplateVersionChanges } from './template-store.js';

// Limits from SendGrid's Templates and Template Versions references.
const MAX_NAME_LENGTH = 100;
const MAX_SUBJECT_LENGTH = 255;
/** Subject, HTML and plain content of one version together. */
export const MAX_VERSION_BYTES = 1024 * 1024; // bytes
/** Per account, as SendGrid's 300 templates and 300 versions. */
export const MAX_TEMPLATES = 300;
export const MAX_VERSIONS = 300;

/** The body of `POST /v3/templates`. SendGrid's default generation is legacy; Herald's is dynamic. */
export function parseTemplateCreate(body: unknown): { name: string; generation: TemplateGeneration } {
  const problems = new Problems();
  const object = requireObject(body);
  const name = readName(object.name, 'name', problems, true);
  let generation: TemplateGeneration = 'dynamic';
  if (object.generation !== undefined && object.generation !== null) {
    if (object.generation === 'legacy') {
      problems.add('HERALD_ERR_INVALID_FIELD', 'generation', 'Herald supports dynamic (Handlebars) templates only; legacy templates are not supported.');
    } else if (object.generation !== 'dynamic') {
      problems.add('HERALD_ERR_INVALID_FIELD', 'generation', 'generation must be "dynamic" or "legacy".');
    } else {
      generation = object.generation;
    }
  }
  throwIfAny(problems);
  return { name: name!, generation };
}

/** The body of `PATCH /v3/templates/:id`: only the name can change. */
export function parseTemplateUpdate(body: unknown): { name: string } {
  const problems = new Problems();
  const name = readName(requireObject(body).name, 'name', problems, true);
  throwIfAny(problems);
  return { name: name! };
}

/** A version body, checked: every part is valid Handlebars that Herald can render. */
export interface VersionInput extends TemplateVersionChanges {
  /** Present when the body set `active`. */
  active?: boolean;
}

/**
 * The body of `POST /v3/templates/:id/versions` (`partial` false: name and subject are required)
 * or `PATCH .../versions/:vid` (`partial` true: at least one field). Syntax is checked here, at
 * save time, so that delivery does not meet a template it cannot render.
 */
export function parseVersion(body: unknown, partial: boolean): VersionInput {
  const problems = new Problems();
  const object = requireObject(body);
  const out: VersionInput = {};
  const name = readName(object.name, 'name', problems, !partial);
  if (name !== undefined) out.name = name;

  if (object.subject !== undefined || !partial) {
    const subject = object.subject;
    if (subject === undefined || subject === null || subject === '') {
      problems.add('HERALD_ERR_MISSING_FIELD', 'subject', 'The subject is required: a Handlebars template of 1 to 255 characters.');
    } else if (typeof subject !== 'string') {
      problems.add('HERALD_ERR_INVALID_FIELD', 'subject', 'The subject must be a string.');
    } else if (hasLineBreak(subject)) {
      problems.add('HERALD_ERR_HEADER_INJECTION', 'subject', 'Carriage returns and line feeds are not allowed in the subject.');
    } else if (subject.length > MAX_SUBJECT_LENGTH) {
      problems.add('HERALD_ERR_INVALID_FIELD', 'subject', `The subject is limited to ${MAX_SUBJECT_LENGTH} characters; this one has ${subject.length}.`);
    } else {
      out.subject = subject;
    }
  }
  for (const [field, key] of [['html_content', 'htmlContent'], ['plain_content', 'plainContent']] as const) {
    const value = object[field];
    if (value === undefined) continue;
    if (value !== null && typeof value !== 'string') {
      problems.add('HERALD_ERR_INVALID_FIELD', field, `${field} must be a string.`);
      continue;
    }
    // An empty part is no part: the request's own content is used for it.
    out[key] = value === '' ? null : value;
  }
  if (object.active !== undefined && object.active !== null) {
    if (object.active !== 0 && object.active !== 1) problems.add('HERALD_ERR_INVALID_FIELD', 'active', 'active must be 0 or 1.');
    else out.active = object.active === 1;
  }
  if (object.generate_plain_content !== undefined && object.generate_plain_content !== null && typeof object.generate_plain_content !== 'boolean') {
    problems.add('HERALD_ERR_INVALID_FIELD', 'generate_plain_content', 'generate_plain_content must be a boolean.');
  }
  if (object.editor !== undefined && object.editor !== null && object.editor !== 'code' && object.editor !== 'design') {
    problems.add('HERALD_ERR_INVALID_FIELD', 'editor', 'editor must be "code" or "design".');
  }
  if (partial && problems.empty && Object.keys(out).length === 0) {
    problems.add('HERALD_ERR_MISSING_FIELD', null, 'Give at least one of name, subject, html_content, plain_content or active.');
  }
  throwIfAny(problems);
  return out;
}

/**
 * Checks a version as it will be stored (after a PATCH, the merge of old and new): its size, then
 * the Handlebars of each part in `changed`. Throws the first problem.
 */
export function checkVersionContent(
  version: { subject: string | null; htmlContent: string | null; plainContent: string | null },
  changed: { subject?: unknown; htmlContent?: unknown; plainContent?: unknown },
): void {
  const parts = [
    ['subject', version.subject],
    ['html_content', version.htmlContent],
    ['plain_content', version.plainContent],
  ] as const;
  const sizes = parts.map(([field, text]) => [field, text === null ? 0 : Buffer.byteLength(text)] as const);
  const total = sizes.reduce((sum, [, n]) => sum + n, 0);
  if (total > MAX_VERSION_BYTES) {
    const [largest, bytes] = [...sizes].sort((a, b) => b[1] - a[1])[0]!;
    throw new HeraldError('HERALD_ERR_TEMPLATE_TOO_LARGE', {
      field: largest,
      message: `A template version is limited to ${MAX_VERSION_BYTES} bytes of subject, html_content and plain_content together; this one has ${total} (${largest}: ${bytes}).`,
    });
  }
  const changedField = { subject: 'subject' in changed, html_content: 'htmlContent' in changed, plain_content: 'plainContent' in changed };
  for (const [field, text] of parts) {
    if (text === null || !changedField[field]) continue;
    const problem = checkTemplateSource(text);
    if (problem) {
      throw new HeraldError('HERALD_ERR_TEMPLATE_SYNTAX', {
        field,
        message: `${field}${problem.line !== null ? `, line ${problem.line}` : ''}: ${problem.message}`,
      });
    }
  }
}

function requireObject(body: unknown): Record<string, unknown> {
  if (!isPlainObject(body)) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: null, message: 'The request body must be a JSON object.' });
  return body;
}

function readName(value: unknown, field: string, problems: Problems, required: boolean): string | undefined {
  if (value === undefined || value === null) {
    if (required) problems.add('HERALD_ERR_MISSING_FIELD', field, `${field} is required: 1 to ${MAX_NAME_LENGTH} characters without line breaks.`);
    return undefined;
  }
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_NAME_LENGTH || hasLineBreak(value)) {
    problems.add('HERALD_ERR_INVALID_FIELD', field, `${field} must be a string of 1 to ${MAX_NAME_LENGTH} characters without line breaks.`);
    return undefined;
  }
  return value;
}

function throwIfAny(problems: Problems): void {
  const first = problems.list[0];
  if (first) throw new HeraldError(first.code, { field: first.field, message: first.message, problems: problems.list });
}
