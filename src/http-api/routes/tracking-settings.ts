import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';
import { requireScope, accountOf } from '../auth.js';
import { readTrackingPatch, trackingJson, type TrackingKind } from '../../tracking/tracking-settings-payload.js';

/** SendGrid's Settings - Tracking API: the account's open, click and subscription tracking defaults. */
export function trackingSettingsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { accounts, trackingSettings } = ctx.backend;
  const read = { onRequest: requireScope(accounts, 'tracking_settings.read') };
  const update = { onRequest: requireScope(accounts, 'tracking_settings.update') };

  // GET /v3/tracking_settings: SendGrid's list of the settings and whether each is on.
  app.get('/v3/tracking_settings', read, async (request) => {
    const s = await trackingSettings.get(accountOf(request));
    return {
      result: [
        { name: 'click', title: 'Click Tracking', description: 'Rewrites links in HTML (and plain text with enable_text) to count clicks.', enabled: s.click.enabled },
        { name: 'open', title: 'Open Tracking', description: 'Adds an invisible image to HTML mail to count opens.', enabled: s.open.enabled },
        { name: 'subscription', title: 'Subscription Tracking', description: 'Adds an unsubscribe link to every message.', enabled: s.subscription.enabled },
      ],
    };
  });

  for (const kind of ['open', 'click', 'subscription'] as const satisfies readonly TrackingKind[]) {
    app.get(`/v3/tracking_settings/${kind}`, read, async (request) => trackingJson(kind, await trackingSettings.get(accountOf(request))));
    app.patch(`/v3/tracking_settings/${kind}`, update, async (request) => {
      ctx.refuseWhenDraining();
      const changes = readTrackingPatch(kind, request.body);
      const saved = await trackingSettings.update(accountOf(request), changes);
      request.log.info({ kind, changed: Object.keys(changes) }, 'tracking settings changed');
      return trackingJson(kind, saved);
    });
  }
}
