import { api } from '../api';
import { Empty, Loaded, Page, Status, useLoad, when } from '../components';

interface MessageEvent {
  event_name: string;
  processed: string;
  reason: string | null;
  attempt_num: number;
  url: string | null;
  bounce_type: string | null;
  http_user_agent: string | null;
  mx_server: string | null;
  response: string | null;
}

interface MessageDetail {
  msg_id: string;
  from_email: string;
  to_email: string;
  subject: string;
  status: string;
  opens_count: number;
  clicks_count: number;
  last_event_time: string;
  template_id: string | null;
  asm_group_id: number | null;
  api_key_id: string | null;
  categories: string[];
  unique_args: string;
  events: MessageEvent[];
}

interface InboxEntry {
  id: string;
  msg_id: string;
}

/** The capture of this message in the local inbox, when Herald captured rather than sent it. */
function Capture({ message }: { message: MessageDetail }) {
  const state = useLoad(
    () =>
      api<{ messages: InboxEntry[] }>(`/v1/inbox?${new URLSearchParams({ to: message.to_email, limit: '1000' })}`).then(
        (r) => r.messages.find((m) => m.msg_id === message.msg_id) ?? null,
        () => null,
      ),
    [message.msg_id],
  );
  if (!state.data) return null;
  return (
    <div class="card">
      <h2>Rendered message</h2>
      <p>
        Captured in the local inbox: <a href={`#/inbox/${encodeURIComponent(state.data.id)}`}>open the rendered message</a>.
      </p>
    </div>
  );
}

export function MessagePage({ id }: { id: string }) {
  const state = useLoad(() => api<MessageDetail>(`/v3/messages/${encodeURIComponent(id)}`), [id]);
  return (
    <Page title="Message" actions={<a href="#/activity">← Activity</a>}>
      <Loaded state={state}>
        {(m) => (
          <>
            <div class="card">
              <dl class="facts">
                <dt>Status</dt>
                <dd>
                  <Status value={m.status} />
                </dd>
                <dt>To</dt>
                <dd>{m.to_email}</dd>
                <dt>From</dt>
                <dd>{m.from_email}</dd>
                <dt>Subject</dt>
                <dd>{m.subject}</dd>
                <dt>Message id</dt>
                <dd>
                  <code>{m.msg_id}</code>
                </dd>
                <dt>Categories</dt>
                <dd>{m.categories.length ? m.categories.join(', ') : '—'}</dd>
                <dt>Opens / clicks</dt>
                <dd>
                  {m.opens_count} / {m.clicks_count}
                </dd>
                {m.template_id && (
                  <>
                    <dt>Template</dt>
                    <dd>{m.template_id}</dd>
                  </>
                )}
                {m.unique_args && m.unique_args !== '{}' && (
                  <>
                    <dt>Custom args</dt>
                    <dd>
                      <code>{m.unique_args}</code>
                    </dd>
                  </>
                )}
              </dl>
            </div>
            <h2>Timeline</h2>
            {m.events.length === 0 ? (
              <Empty title="No events yet" />
            ) : (
              <ol class="timeline">
                {m.events.map((e, i) => (
                  <li key={i} class={`ev ev-${e.event_name}`}>
                    <div class="ev-head">
                      <Status value={e.event_name} />
                      <time>{when(e.processed)}</time>
                      {e.attempt_num > 0 && <span class="muted small">attempt {e.attempt_num}</span>}
                    </div>
                    {e.mx_server && <div class="small">MX: {e.mx_server}</div>}
                    {(e.response || e.reason) && <pre class="reply">{e.response ?? e.reason}</pre>}
                    {e.bounce_type && <div class="small">Bounce type: {e.bounce_type}</div>}
                    {e.url && <div class="small">URL: {e.url}</div>}
                    {e.http_user_agent && <div class="small muted">{e.http_user_agent}</div>}
                  </li>
                ))}
              </ol>
            )}
            <Capture message={m} />
          </>
        )}
      </Loaded>
    </Page>
  );
}
