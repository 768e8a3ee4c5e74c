import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';
import { requireScope, accountOf } from '../auth.js';
import { HeraldError } from '../../errors.js';
import type { SendingDomain } from '../../domains/domain-store.js';
import { MAX_DOMAINS, parseDomainCreate, parseDomainId } from '../../domains/domain-payload.js';
import { generateDkimKeys, defaultSelector } from '../../domains/dkim-keys.js';
import { recordsFor, type SuggestionSettings } from '../../domains/dns-records.js';
import { checkDomain } from '../../domains/domain-check.js';
import { forgetSigningKeys } from '../../domains/signing-keys.js';

/**
 * SendGrid's authenticated domain, as Herald has it: no CNAME delegation (Herald holds the keys
 * and signs itself), so `dns` lists TXT records to publish. Private keys never appear.
 */
export function domainJson(d: SendingDomain, settings: SuggestionSettings) {
  const dns = Object.fromEntries(
    // `valid` per record is what the last check found (false before the first), as SendGrid shows it.
    recordsFor(d, settings).map((r) => [r.name, { valid: d.lastCheck[r.name]?.valid ?? false, type: r.type, host: r.host, data: r.data }]),
  );
  return {
    id: d.id,
    domain: d.domain,
    subdomain: '',
    username: '',
    ips: [],
    custom_spf: false,
    default: false,
    legacy: false,
    automatic_security: false,
    valid: d.valid,
    dns,
  };
}

const notFound = (): HeraldError => new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'id', message: 'Authenticated domain not found.' });

type IdParams = { Params: { id: string } };

/** `/v3/whitelabel/domains`: add, list, show, delete and validate sending domains. */
export function domainRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { accounts, domains } = ctx.backend;
  const settings = ctx.config;
  const scope = {
    create: { onRequest: requireScope(accounts, 'whitelabel.create') },
    read: { onRequest: requireScope(accounts, 'whitelabel.read') },
    update: { onRequest: requireScope(accounts, 'whitelabel.update') },
    delete: { onRequest: requireScope(accounts, 'whitelabel.delete') },
  };

  async function find(accountId: string, raw: string): Promise<SendingDomain> {
    const id = parseDomainId(raw);
    const found = id === null ? null : await domains.get(accountId, id);
    if (!found) throw notFound();
    return found;
  }

  app.post('/v3/whitelabel/domains', scope.create, async (request, reply) => {
    ctx.refuseWhenDraining();
    const input = parseDomainCreate(request.body);
    const accountId = accountOf(request);
    const selector = input.selector ?? defaultSelector();
    const created = await domains.create(accountId, { domain: input.domain, selector, keys: generateDkimKeys(selector) }, MAX_DOMAINS);
    if (created === 'duplicate') throw new HeraldError('HERALD_ERR_DUPLICATE_DOMAIN', { field: 'domain', message: `${input.domain} is already a sending domain of this account.` });
    if (created === 'limit') throw new HeraldError('HERALD_ERR_DOMAIN_LIMIT', { field: null, message: `An account can hold up to ${MAX_DOMAINS} sending domains; delete one first.` });
    request.log.info({ domainId: created.id, domain: created.domain }, 'sending domain created');
    return reply.status(201).send(domainJson(created, settings));
  });

  app.get('/v3/whitelabel/domains', scope.read, async (request) => {
    return (await domains.list(accountOf(request))).map((d) => domainJson(d, settings));
  });

  app.get<IdParams>('/v3/whitelabel/domains/:id', scope.read, async (request) => {
    return domainJson(await find(accountOf(request), request.params.id), settings);
  });

  app.delete<IdParams>('/v3/whitelabel/domains/:id', scope.delete, async (request, reply) => {
    ctx.refuseWhenDraining();
    const accountId = accountOf(request);
    const found = await find(accountId, request.params.id);
    if (!(await domains.delete(accountId, found.id))) throw notFound();
    forgetSigningKeys(domains, accountId);
    request.log.info({ domainId: found.id, domain: found.domain }, 'sending domain deleted');
    return reply.status(204).send();
  });

  app.post<IdParams>('/v3/whitelabel/domains/:id/validate', scope.update, async (request) => {
    ctx.refuseWhenDraining();
    const accountId = accountOf(request);
    const found = await find(accountId, request.params.id);
    const check = await checkDomain(found, settings, { servers: settings.dnsCheckServers });
    const updated = (await domains.markChecked(accountId, found.id, { valid: check.valid, records: check.records, at: Date.now() })) ?? found;
    forgetSigningKeys(domains, accountId);
    request.log.info({ domainId: found.id, domain: found.domain, valid: check.valid }, 'sending domain checked');
    return {
      id: updated.id,
      valid: updated.valid,
      validation_results: check.records,
    };
  });
}
