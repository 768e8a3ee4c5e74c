/** API key scopes, named as SendGrid names them where SendGrid has one. */
export const SCOPES = [
  'mail.send',
  'mail.batch.create',
  'mail.batch.read',
  'messages.read',
  'stats.read',
  'stats.global.read',
  'categories.stats.read',
  'categories.stats.sums.read',
  'mailbox_providers.stats.read',
  'api_keys.create',
  'api_keys.read',
  'api_keys.delete',
  'inbox.read',
  'inbox.delete',
  'templates.create',
  'templates.read',
  'templates.update',
  'templates.delete',
  'suppression.read',
  'suppression.create',
  'suppression.delete',
  'asm.groups.read',
  'asm.groups.create',
  'asm.groups.update',
  'asm.groups.delete',
  'whitelabel.create',
  'whitelabel.read',
  'whitelabel.update',
  'whitelabel.delete',
  'tracking_settings.read',
  'tracking_settings.update',
  'user.webhooks.event.settings.read',
  'user.webhooks.event.settings.update',
  'user.webhooks.event.test.create',
  // Herald's own: the instance's SLOs (aggregates over every account, no tenant data), for operators.
  'slo.read',
] as const;

export type Scope = (typeof SCOPES)[number];

/**
 * Scopes about the whole instance rather than one account: the first key made at start-up holds
 * them (it is the operator's), and a key gets them only when they are asked for by name. A
 * full-access key made for a tenant (no scopes given) does not.
 */
export const OPERATOR_SCOPES: readonly Scope[] = ['slo.read'];

/** What "full access" (no scopes given) grants: every scope but the operator's. */
export const FULL_ACCESS_SCOPES: readonly Scope[] = SCOPES.filter((s) => !OPERATOR_SCOPES.includes(s));

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
