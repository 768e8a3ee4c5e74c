import { useState } from 'preact/hooks';
import { api } from '../api';
import { Empty, ErrorBox, Loaded, Page, useAction, useLoad } from '../components';

interface KeyRow {
  api_key_id: string;
  name: string;
}

interface Created {
  api_key: string;
  api_key_id: string;
  name: string;
  scopes: string[];
}

function CreateKey({ onCreated }: { onCreated: (c: Created) => void }) {
  const scopes = useLoad(() => api<{ scopes: string[] }>('/v3/scopes').then((r) => r.scopes), []);
  const [name, setName] = useState('');
  const [full, setFull] = useState(true);
  const [chosen, setChosen] = useState<Set<string>>(new Set(['mail.send']));
  const action = useAction();
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(async () => {
          onCreated(await api<Created>('/v3/api_keys', { method: 'POST', body: { name: name.trim(), ...(full ? {} : { scopes: [...chosen] }) } }));
          setName('');
        });
      }}
    >
      <h2>New API key</h2>
      <label>
        Name
        <input name="key-name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <fieldset>
        <legend>Access</legend>
        <label class="check">
          <input type="radio" name="access" checked={full} onChange={() => setFull(true)} /> Full access
        </label>
        <label class="check">
          <input type="radio" name="access" checked={!full} onChange={() => setFull(false)} /> Restricted: only the scopes chosen
        </label>
        {!full && (
          <Loaded state={scopes}>
            {(list) => (
              <div class="scopes">
                {list.map((s) => (
                  <label key={s} class="check">
                    <input
                      type="checkbox"
                      name="scope"
                      value={s}
                      checked={chosen.has(s)}
                      onChange={(e) => {
                        const next = new Set(chosen);
                        if (e.currentTarget.checked) next.add(s);
                        else next.delete(s);
                        setChosen(next);
                      }}
                    />{' '}
                    {s}
                  </label>
                ))}
              </div>
            )}
          </Loaded>
        )}
      </fieldset>
      <ErrorBox error={action.error} />
      <button type="submit" class="primary" disabled={action.busy || (!full && chosen.size === 0)}>
        Create key
      </button>
    </form>
  );
}

export function ApiKeys() {
  const state = useLoad(() => api<{ result: KeyRow[] }>('/v3/api_keys'), []);
  const [created, setCreated] = useState<Created | null>(null);
  const revoke = useAction();
  return (
    <Page title="API keys">
      {created && (
        <div class="card notice" role="status">
          <h2>Key "{created.name}" created</h2>
          <p>Copy it now: it is shown only this once and cannot be retrieved later.</p>
          <div class="secret">
            <code data-testid="new-key">{created.api_key}</code>
            <button onClick={() => void navigator.clipboard?.writeText(created.api_key)}>Copy</button>
          </div>
          <button class="link" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      <CreateKey
        onCreated={(c) => {
          setCreated(c);
          state.reload();
        }}
      />
      <h2>Keys</h2>
      <ErrorBox error={revoke.error} />
      <Loaded state={state}>
        {({ result }) =>
          result.length === 0 ? (
            <Empty title="No API keys">Create one above to send mail through the API.</Empty>
          ) : (
            <table class="list">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Key id</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {result.map((k) => (
                  <tr key={k.api_key_id}>
                    <td data-label="Name">{k.name}</td>
                    <td data-label="Key id">
                      <code>{k.api_key_id}</code>
                    </td>
                    <td class="row-actions">
                      <button
                        class="danger small"
                        aria-label={`Revoke ${k.name}`}
                        onClick={() => confirm(`Revoke "${k.name}"? Requests with it fail from now on.`) && revoke.run(async () => void (await api(`/v3/api_keys/${encodeURIComponent(k.api_key_id)}`, { method: 'DELETE' }), state.reload()))}
                      >
                        Revoke
                      </button>
                    </td>
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
