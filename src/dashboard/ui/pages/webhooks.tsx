import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Empty, ErrorBox, Loaded, Page, useAction, useLoad } from '../components';

/** SendGrid's Event Webhook settings (GET /v3/user/webhooks/event/settings/all). */
interface Webhook {
  id: string;
  url: string;
  enabled: boolean;
  friendly_name?: string | null;
  [event: string]: unknown;
}

const EVENTS = ['processed', 'dropped', 'deferred', 'delivered', 'bounce', 'open', 'click', 'spam_report', 'unsubscribe', 'group_unsubscribe', 'group_resubscribe'] as const;

/** The webhooks list: SendGrid's multi-webhook `/all`, or the single legacy setting when that is what the server has. */
async function loadWebhooks(): Promise<Webhook[]> {
  try {
    const all = await api<{ webhooks?: Webhook[] }>('/v3/user/webhooks/event/settings/all');
    return all.webhooks ?? [];
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    const one = await api<Webhook>('/v3/user/webhooks/event/settings');
    return one.url ? [{ ...one, id: one.id ?? '' }] : [];
  }
}

function NewWebhook({ onCreated }: { onCreated: () => void }) {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<Set<string>>(new Set(['delivered', 'bounce', 'dropped']));
  const action = useAction();
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(async () => {
          await api('/v3/user/webhooks/event/settings', { method: 'POST', body: { url: url.trim(), enabled: true, ...Object.fromEntries(EVENTS.map((ev) => [ev, events.has(ev)])) } });
          setUrl('');
          onCreated();
        });
      }}
    >
      <h2>New webhook</h2>
      <label>
        URL
        <input name="webhook-url" type="url" required placeholder="https://example.com/herald-events" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      </label>
      <fieldset>
        <legend>Events</legend>
        <div class="scopes">
          {EVENTS.map((ev) => (
            <label key={ev} class="check">
              <input
                type="checkbox"
                checked={events.has(ev)}
                onChange={(e) => {
                  const next = new Set(events);
                  if (e.currentTarget.checked) next.add(ev);
                  else next.delete(ev);
                  setEvents(next);
                }}
              />{' '}
              {ev.replace(/_/g, ' ')}
            </label>
          ))}
        </div>
      </fieldset>
      <ErrorBox error={action.error} />
      <button type="submit" class="primary" disabled={action.busy}>
        Add webhook
      </button>
    </form>
  );
}

export function Webhooks() {
  const state = useLoad(loadWebhooks, []);
  const action = useAction();
  const path = (id: string) => `/v3/user/webhooks/event/settings/${encodeURIComponent(id)}`;
  return (
    <Page title="Webhooks">
      <Loaded state={state} missing="This server has no Event Webhook settings API (/v3/user/webhooks/event/settings) yet.">
        {(hooks) => (
          <>
            <NewWebhook onCreated={state.reload} />
            <ErrorBox error={action.error} />
            {hooks.length === 0 ? (
              <Empty title="No webhooks">Add a URL above: Herald posts each event there, signed, and retries until it answers 2xx.</Empty>
            ) : (
              hooks.map((h) => (
                <div class="card" key={h.id}>
                  <div class="card-head">
                    <h2 class="wrap">{h.friendly_name || h.url}</h2>
                    <span class={h.enabled ? 'badge badge-delivered' : 'badge'}>{h.enabled ? 'enabled' : 'disabled'}</span>
                  </div>
                  <p>
                    <code class="wrap">{h.url}</code>
                  </p>
                  <p class="muted small">Events: {EVENTS.filter((ev) => h[ev] === true).join(', ') || 'none'}</p>
                  <div class="buttons">
                    <button onClick={() => action.run(async () => void (await api(path(h.id), { method: 'PATCH', body: { enabled: !h.enabled } }), state.reload()))}>{h.enabled ? 'Disable' : 'Enable'}</button>
                    <button onClick={() => action.run(async () => void (await api('/v3/user/webhooks/event/test', { method: 'POST', body: { id: h.id, url: h.url } })))}>Send test event</button>
                    <button class="danger" onClick={() => confirm(`Delete the webhook to ${h.url}?`) && action.run(async () => void (await api(path(h.id), { method: 'DELETE' }), state.reload()))}>
                      Delete
                    </button>
                  </div>
                </div>
              ))
            )}
          </>
        )}
      </Loaded>
    </Page>
  );
}
