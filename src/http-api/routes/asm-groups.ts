import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';
import { requireScope, accountOf } from '../auth.js';
import { HeraldError } from '../../errors.js';
import type { SuppressionGroup } from '../../suppressions/suppression-store.js';
import { MAX_GROUPS, readEmail, readEmailArray, readGroupCreate, readGroupId, readGroupUpdate } from '../../suppressions/suppression-payload.js';

function groupJson(g: SuppressionGroup) {
  return { id: g.id, name: g.name, description: g.description, is_default: g.isDefault, unsubscribes: g.unsubscribes };
}

const groupNotFound = (): HeraldError => new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'group_id', message: 'Unsubscribe group not found.' });
const duplicateName = (name: string): HeraldError =>
  new HeraldError('HERALD_ERR_DUPLICATE_GROUP', { field: 'name', message: `An unsubscribe group named "${name}" already exists in this account.` });

type GroupParams = { Params: { id: string } };
type MemberParams = { Params: { id: string; email: string } };

/** SendGrid's Unsubscribe Groups and group Suppressions endpoints (/v3/asm/groups). */
export function asmGroupRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { accounts, suppressions } = ctx.backend;
  const scope = {
    read: { onRequest: requireScope(accounts, 'asm.groups.read') },
    create: { onRequest: requireScope(accounts, 'asm.groups.create') },
    update: { onRequest: requireScope(accounts, 'asm.groups.update') },
    delete: { onRequest: requireScope(accounts, 'asm.groups.delete') },
    // The addresses in a group are suppressions: the suppression scopes govern them.
    readMembers: { onRequest: requireScope(accounts, 'suppression.read') },
    addMembers: { onRequest: requireScope(accounts, 'suppression.create') },
    removeMembers: { onRequest: requireScope(accounts, 'suppression.delete') },
  };

  app.post('/v3/asm/groups', scope.create, async (request, reply) => {
    ctx.refuseWhenDraining();
    const input = readGroupCreate(request.body);
    const created = await suppressions.createGroup(accountOf(request), input, MAX_GROUPS);
    if (created === 'limit') throw new HeraldError('HERALD_ERR_GROUP_LIMIT', { field: null, message: `An account can hold up to ${MAX_GROUPS} unsubscribe groups; delete one first.` });
    if (created === 'duplicate') throw duplicateName(input.name);
    request.log.info({ groupId: created.id }, 'unsubscribe group created');
    const { unsubscribes: _, ...shown } = groupJson(created);
    return reply.status(201).send(shown);
  });

  // `?id=1&id=2` narrows the list, as SendGrid's.
  app.get<{ Querystring: { id?: string | string[] } }>('/v3/asm/groups', scope.read, async (request) => {
    const raw = request.query.id;
    const ids = raw === undefined ? undefined : (Array.isArray(raw) ? raw : [raw]).map((v) => readGroupId(v, 'id'));
    if (ids && ids.length > MAX_GROUPS) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'id', message: `Give at most ${MAX_GROUPS} ids.` });
    return (await suppressions.listGroups(accountOf(request), ids)).map(groupJson);
  });

  app.get<GroupParams>('/v3/asm/groups/:id', scope.read, async (request) => {
    const found = await suppressions.getGroup(accountOf(request), readGroupId(request.params.id));
    if (!found) throw groupNotFound();
    return groupJson(found);
  });

  // SendGrid answers an update with 201.
  app.patch<GroupParams>('/v3/asm/groups/:id', scope.update, async (request, reply) => {
    ctx.refuseWhenDraining();
    const id = readGroupId(request.params.id);
    const changes = readGroupUpdate(request.body);
    const updated = await suppressions.updateGroup(accountOf(request), id, changes);
    if (updated === null) throw groupNotFound();
    if (updated === 'duplicate') throw duplicateName(changes.name ?? '');
    return reply.status(201).send(groupJson(updated));
  });

  app.delete<GroupParams>('/v3/asm/groups/:id', scope.delete, async (request, reply) => {
    ctx.refuseWhenDraining();
    const id = readGroupId(request.params.id);
    if (!(await suppressions.deleteGroup(accountOf(request), id))) throw groupNotFound();
    request.log.info({ groupId: id }, 'unsubscribe group deleted');
    return reply.status(204).send();
  });

  app.get<GroupParams>('/v3/asm/groups/:id/suppressions', scope.readMembers, async (request) => {
    const members = await suppressions.groupMembers(accountOf(request), readGroupId(request.params.id));
    if (members === null) throw groupNotFound();
    return members;
  });

  app.post<GroupParams>('/v3/asm/groups/:id/suppressions', scope.addMembers, async (request, reply) => {
    ctx.refuseWhenDraining();
    const id = readGroupId(request.params.id);
    const emails = readEmailArray(request.body, 'recipient_emails');
    if (!(await suppressions.addToGroup(accountOf(request), id, emails))) throw groupNotFound();
    return reply.status(201).send({ recipient_emails: emails });
  });

  app.delete<MemberParams>('/v3/asm/groups/:id/suppressions/:email', scope.removeMembers, async (request, reply) => {
    ctx.refuseWhenDraining();
    const id = readGroupId(request.params.id);
    const email = readEmail(request.params.email, 'email');
    const outcome = await suppressions.removeFromGroup(accountOf(request), id, email);
    if (outcome === 'no_group') throw groupNotFound();
    if (outcome === 'not_listed') throw new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'email', message: 'The address is not unsubscribed from this group.' });
    return reply.status(204).send();
  });
}
