import { useState } from 'preact/hooks';
import { api } from '../api';
import { Empty, ErrorBox, Loaded, Page, useAction, useLoad, when } from '../components';

interface InboxEntry {
  id: string;
  msg_id: string;
  from: string;
  to: string;
  subject: string;
  size: number;
  received_at: string;
}

interface InboxDetail extends InboxEntry {
  headers: { name: string; line: string }[];
  text: string | null;
  html: string | null;
  attachments: { filename: string | null; content_type: string; size: number; content_id: string | null; disposition: string }[];
}

const kb = (bytes: number) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`);

export function Inbox() {
  const [to, setTo] = useState('');
  const [filter, setFilter] = useState('');
  const state = useLoad(() => api<{ messages: InboxEntry[] }>(`/v1/inbox?${new URLSearchParams({ limit: '200', ...(filter ? { to: filter } : {}) })}`), [filter]);
  const clear = useAction();
  return (
    <Page
      title="Local inbox"
      actions={
        <button
          class="danger"
          disabled={clear.busy}
          onClick={() => confirm('Delete every captured message?') && clear.run(async () => void (await api('/v1/inbox', { method: 'DELETE' }), state.reload()))}
        >
          Empty inbox
        </button>
      }
    >
      <p class="muted">What Herald captured instead of sending, while no relay is set (development).</p>
      <form
        class="inline"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(to.trim());
        }}
      >
        <input name="to" type="search" placeholder="Recipient" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        <button type="submit">Filter</button>
      </form>
      <ErrorBox error={clear.error} />
      <Loaded state={state}>
        {({ messages }) =>
          messages.length === 0 ? (
            <Empty title="The inbox is empty">Mail Herald captures (deliveryTransport capture, the default without a relay) appears here.</Empty>
          ) : (
            <table class="list">
              <thead>
                <tr>
                  <th>To</th>
                  <th>From</th>
                  <th>Subject</th>
                  <th>Size</th>
                  <th>Received</th>
                </tr>
              </thead>
              <tbody>
                {messages.map((m) => (
                  <tr key={m.id} class="clickable" onClick={() => (location.hash = `#/inbox/${encodeURIComponent(m.id)}`)}>
                    <td data-label="To">{m.to}</td>
                    <td data-label="From">{m.from}</td>
                    <td data-label="Subject">
                      <a href={`#/inbox/${encodeURIComponent(m.id)}`}>{m.subject || '(no subject)'}</a>
                    </td>
                    <td data-label="Size">{kb(m.size)}</td>
                    <td data-label="Received">{when(m.received_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </Page>
  );
}

type Tab = 'html' | 'text' | 'headers' | 'attachments';

export function InboxMessage({ id }: { id: string }) {
  const state = useLoad(() => api<InboxDetail>(`/v1/inbox/${encodeURIComponent(id)}`), [id]);
  const [tab, setTab] = useState<Tab | null>(null);
  return (
    <Page title="Captured message" actions={<a href="#/inbox">← Local inbox</a>}>
      <Loaded state={state}>
        {(m) => {
          const shown: Tab = tab ?? (m.html ? 'html' : 'text');
          return (
            <>
              <div class="card">
                <dl class="facts">
                  <dt>Subject</dt>
                  <dd>{m.subject || '(no subject)'}</dd>
                  <dt>From</dt>
                  <dd>{m.from}</dd>
                  <dt>To</dt>
                  <dd>{m.to}</dd>
                  <dt>Received</dt>
                  <dd>{when(m.received_at)}</dd>
                  <dt>Message</dt>
                  <dd>
                    <a href={`#/messages/${encodeURIComponent(m.msg_id)}`}>activity and timeline</a> · <a href={`/v1/inbox/${encodeURIComponent(m.id)}/raw`}>raw .eml</a>
                  </dd>
                </dl>
              </div>
              <div class="tabs" role="tablist">
                {(['html', 'text', 'headers', 'attachments'] as Tab[]).map((t) => (
                  <button key={t} role="tab" aria-selected={shown === t} class={shown === t ? 'active' : ''} onClick={() => setTab(t)}>
                    {t === 'html' ? 'HTML' : t === 'text' ? 'Text' : t === 'headers' ? 'Headers' : `Attachments (${m.attachments.length})`}
                  </button>
                ))}
              </div>
              <div class="tab-body">
                {shown === 'html' &&
                  (m.html ? (
                    // sandbox without allow-scripts (nor same-origin): the mail's HTML can neither run
                    // script nor reach the dashboard; the page's CSP blocks its remote images too.
                    <iframe class="mail-html" title="HTML body" sandbox="" srcdoc={m.html} />
                  ) : (
                    <Empty title="No HTML part" />
                  ))}
                {shown === 'text' && (m.text ? <pre class="mail-text">{m.text}</pre> : <Empty title="No text part" />)}
                {shown === 'headers' && <pre class="mail-text">{m.headers.map((h) => h.line).join('\n')}</pre>}
                {shown === 'attachments' &&
                  (m.attachments.length === 0 ? (
                    <Empty title="No attachments" />
                  ) : (
                    <table class="list">
                      <thead>
                        <tr>
                          <th>File</th>
                          <th>Type</th>
                          <th>Size</th>
                          <th>Disposition</th>
                        </tr>
                      </thead>
                      <tbody>
                        {m.attachments.map((a, i) => (
                          <tr key={i}>
                            <td data-label="File">{a.filename ?? '(unnamed)'}</td>
                            <td data-label="Type">{a.content_type}</td>
                            <td data-label="Size">{kb(a.size)}</td>
                            <td data-label="Disposition">{a.disposition}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  ))}
              </div>
            </>
          );
        }}
      </Loaded>
    </Page>
  );
}
