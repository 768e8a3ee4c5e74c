import { useState } from 'preact/hooks';
import { api } from '../api';
import { Empty, ErrorBox, Loaded, Page, useAction, useLoad, when } from '../components';

interface Entry {
  email: string;
  created: number;
  reason?: string;
  status?: string;
  ip?: string;
}

interface Group {
  id: number;
  name: string;
  description: string;
  is_default: boolean;
}

type ListKey = 'unsubscribes' | 'bounces' | 'blocks' | 'spam_reports' | 'invalid_emails';

/** SendGrid's paths: global unsubscribes under /v3/asm, the other lists under /v3/suppression. */
const LISTS: Record<ListKey, { label: string; path: string; addable: boolean }> = {
  unsubscribes: { label: 'Global unsubscribes', path: '/v3/asm/suppressions/global', addable: true },
  bounces: { label: 'Bounces', path: '/v3/suppression/bounces', addable: false },
  blocks: { label: 'Blocks', path: '/v3/suppression/blocks', addable: false },
  spam_reports: { label: 'Spam reports', path: '/v3/suppression/spam_reports', addable: false },
  invalid_emails: { label: 'Invalid emails', path: '/v3/suppression/invalid_emails', addable: false },
};

function AddForm({ onAdd, label }: { onAdd: (email: string) => Promise<void>; label: string }) {
  const [email, setEmail] = useState('');
  const action = useAction();
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(async () => {
          await onAdd(email.trim());
          setEmail('');
        });
      }}
    >
      <input name="add-email" type="email" required placeholder="address@example.com" aria-label={label} value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      <button type="submit" class="primary" disabled={action.busy}>
        {label}
      </button>
      <ErrorBox error={action.error} />
    </form>
  );
}

function SuppressionList({ list }: { list: ListKey }) {
  const { path, addable, label } = LISTS[list];
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState('');
  const state = useLoad(() => api<Entry[]>(`${path}?${new URLSearchParams({ limit: '500', ...(applied ? { email: applied } : {}) })}`), [path, applied]);
  const remove = useAction();
  return (
    <>
      <div class="toolbar">
        <form
          class="inline"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setApplied(search.trim());
          }}
        >
          <input name="search" type="search" placeholder="Exact address" aria-label="Search address" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
          <button type="submit">Search</button>
        </form>
        {addable && <AddForm label="Add unsubscribe" onAdd={async (email) => void (await api(path, { method: 'POST', body: { recipient_emails: [email] } }), state.reload())} />}
      </div>
      <ErrorBox error={remove.error} />
      <Loaded state={state}>
        {(entries) =>
          entries.length === 0 ? (
            <Empty title={applied ? `${applied} is not on this list` : `No ${label.toLowerCase()}`}>
              {addable ? 'Add an address above to stop all mail to it.' : 'Herald adds addresses here as mail to them fails or recipients complain.'}
            </Empty>
          ) : (
            <table class="list">
              <thead>
                <tr>
                  <th>Address</th>
                  <th>Added</th>
                  <th>Reason</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {entries.map((s) => (
                  <tr key={s.email}>
                    <td data-label="Address">{s.email}</td>
                    <td data-label="Added">{when(s.created * 1000)}</td>
                    <td data-label="Reason">{s.reason || s.status || s.ip || '—'}</td>
                    <td class="row-actions">
                      <button class="danger small" aria-label={`Remove ${s.email}`} onClick={() => remove.run(async () => void (await api(`${path}/${encodeURIComponent(s.email)}`, { method: 'DELETE' }), state.reload()))}>
                        Remove
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </>
  );
}

function GroupMembers({ group }: { group: Group }) {
  const base = `/v3/asm/groups/${group.id}/suppressions`;
  const state = useLoad(() => api<string[]>(base), [base]);
  const remove = useAction();
  return (
    <div class="card">
      <h3>
        {group.name} <span class="muted small">#{group.id}</span>
      </h3>
      {group.description && <p class="muted">{group.description}</p>}
      <AddForm label="Add to group" onAdd={async (email) => void (await api(base, { method: 'POST', body: { recipient_emails: [email] } }), state.reload())} />
      <ErrorBox error={remove.error} />
      <Loaded state={state}>
        {(emails) =>
          emails.length === 0 ? (
            <Empty title="Nobody has unsubscribed from this group" />
          ) : (
            <ul class="plain">
              {emails.map((email) => (
                <li key={email}>
                  {email}{' '}
                  <button class="danger small" aria-label={`Remove ${email}`} onClick={() => remove.run(async () => void (await api(`${base}/${encodeURIComponent(email)}`, { method: 'DELETE' }), state.reload()))}>
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </div>
  );
}

function Groups() {
  const state = useLoad(() => api<Group[]>('/v3/asm/groups'), []);
  const [open, setOpen] = useState<number | null>(null);
  return (
    <Loaded state={state}>
      {(groups) =>
        groups.length === 0 ? (
          <Empty title="No unsubscribe groups">Create them with POST /v3/asm/groups; each has its own list.</Empty>
        ) : (
          <>
            <div class="chips">
              {groups.map((g) => (
                <button key={g.id} class={open === g.id ? 'active' : ''} onClick={() => setOpen(g.id)}>
                  {g.name}
                </button>
              ))}
            </div>
            {open !== null && groups.find((g) => g.id === open) && <GroupMembers group={groups.find((g) => g.id === open)!} />}
          </>
        )
      }
    </Loaded>
  );
}

export function Suppressions() {
  const [tab, setTab] = useState<ListKey | 'groups'>('unsubscribes');
  return (
    <Page title="Suppressions">
      <div class="tabs" role="tablist">
        {(Object.keys(LISTS) as ListKey[]).map((k) => (
          <button key={k} role="tab" aria-selected={tab === k} class={tab === k ? 'active' : ''} onClick={() => setTab(k)}>
            {LISTS[k].label}
          </button>
        ))}
        <button role="tab" aria-selected={tab === 'groups'} class={tab === 'groups' ? 'active' : ''} onClick={() => setTab('groups')}>
          Groups
        </button>
      </div>
      {tab === 'groups' ? <Groups /> : <SuppressionList key={tab} list={tab} />}
    </Page>
  );
}
