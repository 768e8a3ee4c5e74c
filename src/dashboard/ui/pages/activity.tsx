import { useState } from 'preact/hooks';
import { api } from '../api';
import { Empty, Loaded, Page, Status, useLoad, when } from '../components';

export interface MessageSummary {
  msg_id: string;
  from_email: string;
  to_email: string;
  subject: string;
  status: string;
  opens_count: number;
  clicks_count: number;
  last_event_time: string;
}

interface Filters {
  to: string;
  subject: string;
  status: string;
  category: string;
  from: string;
  until: string;
}

const PAGE = 25;
/** SendGrid's Email Activity API answers at most 1000 messages and has no offset: pages grow the limit. */
const MAX = 1000;

/** A string literal of SendGrid's query language: quoted with whichever quote it does not contain. */
function literal(value: string): string {
  const v = value.trim();
  if (!v.includes('"')) return `"${v}"`;
  if (!v.includes("'")) return `'${v}'`;
  return `"${v.replace(/"/g, '')}"`;
}

/** The filters as an Email Activity query (`GET /v3/messages?query=`). */
export function activityQuery(f: Filters): string {
  const parts: string[] = [];
  if (f.to.trim()) parts.push(`to_email=${literal(f.to)}`);
  if (f.subject.trim()) parts.push(`subject LIKE ${literal(`%${f.subject.trim()}%`)}`);
  if (f.status) parts.push(`status=${literal(f.status)}`);
  if (f.category.trim()) parts.push(`Contains(categories,${literal(f.category)})`);
  if (f.from) parts.push(`last_event_time>=TIMESTAMP "${new Date(f.from).toISOString().replace(/\.\d{3}Z$/, 'Z')}"`);
  if (f.until) parts.push(`last_event_time<=TIMESTAMP "${new Date(f.until).toISOString().replace(/\.\d{3}Z$/, 'Z')}"`);
  return parts.join(' AND ');
}

export function Activity({ params }: { params: URLSearchParams }) {
  const empty: Filters = { to: params.get('to') ?? '', subject: '', status: '', category: '', from: '', until: '' };
  const [filters, setFilters] = useState<Filters>(empty);
  const [applied, setApplied] = useState<Filters>(empty);
  const [limit, setLimit] = useState(PAGE);
  const query = activityQuery(applied);
  const state = useLoad(() => api<{ messages: MessageSummary[] }>(`/v3/messages?${new URLSearchParams({ limit: String(limit), ...(query ? { query } : {}) })}`), [query, limit]);
  const field = (key: keyof Filters) => ({
    value: filters[key],
    onInput: (e: Event) => setFilters({ ...filters, [key]: (e.currentTarget as HTMLInputElement).value }),
  });
  return (
    <Page title="Activity">
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setLimit(PAGE);
          setApplied(filters);
        }}
      >
        <label>
          Recipient
          <input name="to" type="search" placeholder="someone@example.com" {...field('to')} />
        </label>
        <label>
          Subject contains
          <input name="subject" type="search" {...field('subject')} />
        </label>
        <label>
          Status
          <select name="status" {...field('status')} onChange={(e) => setFilters({ ...filters, status: e.currentTarget.value })}>
            <option value="">any</option>
            <option value="processed">processed</option>
            <option value="delivered">delivered</option>
            <option value="not_delivered">not delivered</option>
          </select>
        </label>
        <label>
          Category
          <input name="category" type="search" {...field('category')} />
        </label>
        <label>
          From
          <input name="from" type="datetime-local" {...field('from')} />
        </label>
        <label>
          Until
          <input name="until" type="datetime-local" {...field('until')} />
        </label>
        <div class="filter-buttons">
          <button type="submit" class="primary">
            Search
          </button>
          <button
            type="button"
            onClick={() => {
              setFilters(empty);
              setApplied(empty);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {query && (
        <p class="muted small">
          Query: <code>{query}</code>
        </p>
      )}
      <Loaded state={state}>
        {({ messages }) =>
          messages.length === 0 ? (
            <Empty title={query ? 'No messages match' : 'No messages yet'}>{query ? 'Try fewer filters.' : 'Messages sent through POST /v3/mail/send show up here.'}</Empty>
          ) : (
            <>
              <table class="list">
                <thead>
                  <tr>
                    <th>Status</th>
                    <th>Recipient</th>
                    <th>Subject</th>
                    <th class="num">Opens</th>
                    <th class="num">Clicks</th>
                    <th>Last event</th>
                  </tr>
                </thead>
                <tbody>
                  {messages.map((m) => (
                    <tr key={m.msg_id} onClick={() => (location.hash = `#/messages/${encodeURIComponent(m.msg_id)}`)} class="clickable">
                      <td data-label="Status">
                        <Status value={m.status} />
                      </td>
                      <td data-label="Recipient">
                        <a href={`#/messages/${encodeURIComponent(m.msg_id)}`}>{m.to_email}</a>
                      </td>
                      <td data-label="Subject">{m.subject}</td>
                      <td data-label="Opens" class="num">
                        {m.opens_count}
                      </td>
                      <td data-label="Clicks" class="num">
                        {m.clicks_count}
                      </td>
                      <td data-label="Last event">{when(m.last_event_time)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <div class="pager">
                <span class="muted">
                  {messages.length} message{messages.length === 1 ? '' : 's'}
                </span>
                {messages.length === limit && limit < MAX && <button onClick={() => setLimit(Math.min(MAX, limit + PAGE))}>Show more</button>}
              </div>
            </>
          )
        }
      </Loaded>
    </Page>
  );
}
