import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';
import { requireScope, accountOf } from '../auth.js';
import { HeraldError } from '../../errors.js';
import type { Suppression, SuppressionList } from '../../suppressions/suppression-store.js';
import { readBulkDelete, readEmail, readEmailArray, readListQuery } from '../../suppressions/suppression-payload.js';

/** SendGrid's `created`: unix seconds. */
const seconds = (ms: number): number => Math.floor(ms / 1000);

/** Each list's entry as SendGrid's Suppressions API shows it. */
const SHAPES: Record<SuppressionList, (s: Suppression) => Record<string, unknown>> = {
  bounces: (s) => ({ created: seconds(s.createdAt), email: s.email, reason: s.reason ?? '', status: s.status ?? '' }),
  blocks: (s) => ({ created: seconds(s.createdAt), email: s.email, reason: s.reason ?? '', status: s.status ?? '' }),
  spam_reports: (s) => ({ created: seconds(s.createdAt), email: s.email, ip: s.ip ?? '' }),
  invalid_emails: (s) => ({ created: seconds(s.createdAt), email: s.email, reason: s.reason ?? '' }),
  unsubscribes: (s) => ({ created: seconds(s.createdAt), email: s.email }),
};

type EmailParams = { Params: { email: string } };
type ListQuery = { Querystring: Record<string, unknown> };

const notListed = (list: string): HeraldError => new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'email', message: `The address is not on the ${list} list.` });

/**
 * SendGrid's Suppressions API: bounces, blocks, spam reports and invalid emails under
 * /v3/suppression, global unsubscribes under /v3/asm/suppressions/global. Lists are only ever
 * read and pruned through the API, except global unsubscribes, which callers may add to.
 */
export function suppressionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { accounts, suppressions } = ctx.backend;
  const scope = {
    read: { onRequest: requireScope(accounts, 'suppression.read') },
    create: { onRequest: requireScope(accounts, 'suppression.create') },
    delete: { onRequest: requireScope(accounts, 'suppression.delete') },
  };

  for (const list of ['bounces', 'blocks', 'spam_reports', 'invalid_emails'] as const) {
    const path = `/v3/suppression/${list}`;
    app.get<ListQuery>(path, scope.read, async (request) => {
      const found = await suppressions.list(accountOf(request), list, readListQuery(request.query));
      return found.map(SHAPES[list]);
    });

    app.delete(path, scope.delete, async (request, reply) => {
      ctx.refuseWhenDraining();
      const emails = readBulkDelete(request.body);
      const removed = await suppressions.remove(accountOf(request), list, emails);
      request.log.info({ list, removed }, 'suppressions removed');
      return reply.status(204).send();
    });

    // SendGrid answers an array: the entry, or nothing when the address is not listed.
    app.get<EmailParams>(`${path}/:email`, scope.read, async (request) => {
      const email = readEmail(request.params.email, 'email');
      const found = await suppressions.list(accountOf(request), list, { limit: 1, offset: 0, email });
      return found.map(SHAPES[list]);
    });

    app.delete<EmailParams>(`${path}/:email`, scope.delete, async (request, reply) => {
      ctx.refuseWhenDraining();
      const email = readEmail(request.params.email, 'email');
      if ((await suppressions.remove(accountOf(request), list, [email])) === 0) throw notListed(list);
      return reply.status(204).send();
    });
  }

  const unsubscribes = async (request: { query: Record<string, unknown> } & Parameters<typeof accountOf>[0]) =>
    (await suppressions.list(accountOf(request), 'unsubscribes', readListQuery(request.query))).map(SHAPES.unsubscribes);
  app.get<ListQuery>('/v3/asm/suppressions/global', scope.read, unsubscribes);
  // SendGrid's other name for the same list.
  app.get<ListQuery>('/v3/suppression/unsubscribes', scope.read, unsubscribes);

  app.post('/v3/asm/suppressions/global', scope.create, async (request, reply) => {
    ctx.refuseWhenDraining();
    const emails = readEmailArray(request.body, 'recipient_emails');
    await suppressions.add(accountOf(request), 'unsubscribes', emails.map((email) => ({ email })));
    request.log.info({ added: emails.length }, 'global unsubscribes added');
    return reply.status(201).send({ recipient_emails: emails });
  });

  // SendGrid: {"recipient_email": ...} when unsubscribed, {} when not.
  app.get<EmailParams>('/v3/asm/suppressions/global/:email', scope.read, async (request) => {
    const email = readEmail(request.params.email, 'email');
    const found = await suppressions.list(accountOf(request), 'unsubscribes', { limit: 1, offset: 0, email });
    return found.length > 0 ? { recipient_email: email } : {};
  });

  app.delete<EmailParams>('/v3/asm/suppressions/global/:email', scope.delete, async (request, reply) => {
    ctx.refuseWhenDraining();
    const email = readEmail(request.params.email, 'email');
    if ((await suppressions.remove(accountOf(request), 'unsubscribes', [email])) === 0) throw notListed('global unsubscribe');
    return reply.status(204).send();
  });
}
