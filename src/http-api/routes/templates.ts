import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiContext } from '../api-context.js';
import { requireScope, accountOf } from '../auth.js';
import { HeraldError } from '../../errors.js';
import {
  MAX_TEMPLATES,
  MAX_VERSIONS,
  checkVersionContent,
  parseTemplateCreate,
  parseTemplateUpdate,
  parseVersion,
} from '../../message/template-payload.js';
import type { Template, TemplateGeneration, TemplateSummary, TemplateVersion, TemplateVersionSummary } from '../../message/template-store.js';

/** SendGrid's `updated_at`: `YYYY-MM-DD HH:MM:SS`, UTC. */
const sendgridTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '');

function versionJson(v: TemplateVersion | TemplateVersionSummary) {
  return {
    id: v.id,
    template_id: v.templateId,
    active: v.active ? 1 : 0,
    name: v.name,
    subject: v.subject ?? '',
    ...('htmlContent' in v ? { html_content: v.htmlContent ?? '', plain_content: v.plainContent ?? '' } : {}),
    // Herald never derives the text part from the HTML: a version without plain_content has none.
    generate_plain_content: false,
    updated_at: sendgridTime(v.updatedAt),
  };
}

function templateJson(t: Template | TemplateSummary) {
  return { id: t.id, name: t.name, generation: t.generation, updated_at: sendgridTime(t.updatedAt), versions: t.versions.map(versionJson) };
}

const templateNotFound = (): HeraldError => new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'template_id', message: 'Template not found.' });
const versionNotFound = (): HeraldError => new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'version_id', message: 'Template version not found.' });

const MAX_PAGE_SIZE = 200;

type TemplateParams = { Params: { id: string } };
type VersionParams = { Params: { id: string; vid: string } };

/** SendGrid's Transactional Templates and Template Versions endpoints, dynamic templates only. */
export function templateRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { accounts, templates } = ctx.backend;
  const scope = {
    create: { onRequest: requireScope(accounts, 'templates.create') },
    read: { onRequest: requireScope(accounts, 'templates.read') },
    update: { onRequest: requireScope(accounts, 'templates.update') },
    delete: { onRequest: requireScope(accounts, 'templates.delete') },
  };

  app.post('/v3/templates', scope.create, async (request, reply) => {
    ctx.refuseWhenDraining();
    const input = parseTemplateCreate(request.body);
    const created = await templates.create(accountOf(request), input, MAX_TEMPLATES);
    if (!created) throw new HeraldError('HERALD_ERR_TEMPLATE_LIMIT', { field: null, message: `An account can hold up to ${MAX_TEMPLATES} templates; delete one first.` });
    request.log.info({ templateId: created.id }, 'template created');
    return reply.status(201).send(templateJson(created));
  });

  app.get<{ Querystring: Record<string, unknown> }>('/v3/templates', scope.read, async (request) => {
    const { generations, pageSize, pageToken } = readListQuery(request.query);
    const page = await templates.list(accountOf(request), { generations, limit: pageSize, ...(pageToken !== undefined ? { after: pageToken } : {}) });
    const base = `${request.protocol}://${request.host}/v3/templates?generations=${encodeURIComponent(String(request.query.generations ?? 'dynamic'))}&page_size=${pageSize}`;
    return {
      result: page.templates.map(templateJson),
      _metadata: {
        self: pageToken !== undefined ? `${base}&page_token=${encodeURIComponent(pageToken)}` : base,
        ...(page.next !== null ? { next: `${base}&page_token=${encodeURIComponent(page.next)}` } : {}),
        count: page.total,
      },
    };
  });

  app.get<TemplateParams>('/v3/templates/:id', scope.read, async (request) => {
    const found = await templates.get(accountOf(request), request.params.id);
    if (!found) throw templateNotFound();
    return templateJson(found);
  });

  app.patch<TemplateParams>('/v3/templates/:id', scope.update, async (request) => {
    ctx.refuseWhenDraining();
    const { name } = parseTemplateUpdate(request.body);
    const renamed = await templates.rename(accountOf(request), request.params.id, name);
    if (!renamed) throw templateNotFound();
    return templateJson(renamed);
  });

  app.delete<TemplateParams>('/v3/templates/:id', scope.delete, async (request, reply) => {
    ctx.refuseWhenDraining();
    if (!(await templates.delete(accountOf(request), request.params.id))) throw templateNotFound();
    request.log.info({ templateId: request.params.id }, 'template deleted');
    return reply.status(204).send();
  });

  app.post<TemplateParams>('/v3/templates/:id/versions', scope.create, async (request, reply) => {
    ctx.refuseWhenDraining();
    const input = parseVersion(request.body, false);
    const version = { name: input.name!, subject: input.subject ?? null, htmlContent: input.htmlContent ?? null, plainContent: input.plainContent ?? null, active: input.active ?? false };
    checkVersionContent(version, input);
    const added = await templates.addVersion(accountOf(request), request.params.id, version, MAX_VERSIONS);
    if (added === 'not_found') throw templateNotFound();
    if (added === 'limit') throw new HeraldError('HERALD_ERR_TEMPLATE_LIMIT', { field: null, message: `An account can hold up to ${MAX_VERSIONS} template versions; delete one first.` });
    request.log.info({ templateId: added.templateId, versionId: added.id, active: added.active }, 'template version created');
    return reply.status(201).send(versionJson(added));
  });

  app.get<VersionParams>('/v3/templates/:id/versions/:vid', scope.read, async (request) => {
    const found = await templates.getVersion(accountOf(request), request.params.id, request.params.vid);
    if (!found) throw versionNotFound();
    return versionJson(found);
  });

  app.patch<VersionParams>('/v3/templates/:id/versions/:vid', scope.update, async (request) => {
    ctx.refuseWhenDraining();
    const accountId = accountOf(request);
    const { id, vid } = request.params;
    const { active, ...changes } = parseVersion(request.body, true);
    const current = await templates.getVersion(accountId, id, vid);
    if (!current) throw versionNotFound();
    if (active === false && current.active) throw activeVersionError('deactivated');
    checkVersionContent({ ...current, ...changes }, changes);
    let updated = Object.keys(changes).length > 0 ? await templates.updateVersion(accountId, id, vid, changes) : current;
    if (updated && active === true && !updated.active) updated = await templates.activateVersion(accountId, id, vid);
    if (!updated) throw versionNotFound();
    return versionJson(updated);
  });

  app.delete<VersionParams>('/v3/templates/:id/versions/:vid', scope.delete, async (request, reply) => {
    ctx.refuseWhenDraining();
    const outcome = await templates.deleteVersion(accountOf(request), request.params.id, request.params.vid);
    if (outcome === 'not_found') throw versionNotFound();
    if (outcome === 'active') throw activeVersionError('deleted');
    return reply.status(204).send();
  });

  app.post<VersionParams>('/v3/templates/:id/versions/:vid/activate', scope.update, async (request) => {
    ctx.refuseWhenDraining();
    const activated = await templates.activateVersion(accountOf(request), request.params.id, request.params.vid);
    if (!activated) throw versionNotFound();
    return versionJson(activated);
  });
}

function activeVersionError(what: 'deactivated' | 'deleted'): HeraldError {
  return new HeraldError('HERALD_ERR_ACTIVE_VERSION', {
    field: 'active',
    message: `The active version cannot be ${what} while the template has other versions: activate another version first.`,
  });
}

/** `generations` (comma-separated, default dynamic), `page_size` (1 to 200, default 200), `page_token`. */
function readListQuery(query: FastifyRequest<{ Querystring: Record<string, unknown> }>['query']): { generations: TemplateGeneration[]; pageSize: number; pageToken?: string } {
  const { generations: rawGenerations, page_size: rawPageSize, page_token: pageToken } = query;
  if (rawGenerations !== undefined && typeof rawGenerations !== 'string') throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'generations', message: 'Give generations once.' });
  const asked = (rawGenerations ?? 'dynamic').split(',').map((g) => g.trim());
  if (asked.some((g) => g !== 'dynamic' && g !== 'legacy')) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'generations', message: 'generations must be legacy, dynamic or legacy,dynamic.' });
  }
  // Herald stores no legacy templates: asking for them alone finds none.
  const generations: TemplateGeneration[] = asked.includes('dynamic') ? ['dynamic'] : [];
  const pageSize = rawPageSize === undefined ? MAX_PAGE_SIZE : Number(rawPageSize);
  if (typeof rawPageSize === 'object' || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'page_size', message: `page_size must be a whole number from 1 to ${MAX_PAGE_SIZE}.` });
  }
  if (pageToken !== undefined && (typeof pageToken !== 'string' || pageToken === '' || pageToken.length > 200)) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'page_token', message: 'page_token must be the token from _metadata.next.' });
  }
  return { generations, pageSize, ...(pageToken !== undefined ? { pageToken } : {}) };
}
