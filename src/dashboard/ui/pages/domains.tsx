import { useState } from 'preact/hooks';
import { api } from '../api';
import { Empty, ErrorBox, Loaded, Page, useAction, useLoad } from '../components';

interface DnsRecord {
  valid: boolean;
  type: string;
  host: string;
  data: string;
}

interface Domain {
  id: number;
  domain: string;
  valid: boolean;
  dns: Record<string, DnsRecord>;
}

function DomainCard({ domain, onChange }: { domain: Domain; onChange: () => void }) {
  const action = useAction();
  const [result, setResult] = useState<string | null>(null);
  return (
    <div class="card">
      <div class="card-head">
        <h2>{domain.domain}</h2>
        <span class={domain.valid ? 'badge badge-delivered' : 'badge badge-deferred'}>{domain.valid ? 'verified' : 'not verified'}</span>
      </div>
      <table class="list records">
        <thead>
          <tr>
            <th>Record</th>
            <th>Type</th>
            <th>Host</th>
            <th>Value</th>
            <th>Check</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(domain.dns).map(([name, r]) => (
            <tr key={name}>
              <td data-label="Record">{name.replace(/_/g, ' ')}</td>
              <td data-label="Type">{r.type}</td>
              <td data-label="Host">
                <code>{r.host}</code>
              </td>
              <td data-label="Value">
                <code class="wrap">{r.data}</code>
              </td>
              <td data-label="Check">{r.valid ? '✓ found' : '✗ not found'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {result && <p class="muted">{result}</p>}
      <ErrorBox error={action.error} />
      <div class="buttons">
        <button
          class="primary"
          disabled={action.busy}
          onClick={() =>
            action.run(async () => {
              const r = await api<{ valid: boolean }>(`/v3/whitelabel/domains/${domain.id}/validate`, { method: 'POST' });
              setResult(r.valid ? 'Every record checks out.' : 'Some records are missing or differ; DNS changes can take a while to appear.');
              onChange();
            })
          }
        >
          {action.busy ? 'Checking…' : 'Check DNS now'}
        </button>
        <button class="danger" onClick={() => confirm(`Remove ${domain.domain}? Mail from it is no longer DKIM-signed.`) && action.run(async () => void (await api(`/v3/whitelabel/domains/${domain.id}`, { method: 'DELETE' }), onChange()))}>
          Remove
        </button>
      </div>
    </div>
  );
}

export function Domains() {
  const state = useLoad(() => api<Domain[]>('/v3/whitelabel/domains'), []);
  const [name, setName] = useState('');
  const add = useAction();
  return (
    <Page title="Sending domains">
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void add.run(async () => {
            await api('/v3/whitelabel/domains', { method: 'POST', body: { domain: name.trim() } });
            setName('');
            state.reload();
          });
        }}
      >
        <input name="domain" required placeholder="mail.example.com" aria-label="Domain" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit" class="primary" disabled={add.busy}>
          Add domain
        </button>
      </form>
      <ErrorBox error={add.error} />
      <Loaded state={state}>
        {(domains) =>
          domains.length === 0 ? (
            <Empty title="No sending domains">Add the domain you send from: Herald makes its DKIM key and lists the DKIM, SPF and DMARC records to publish.</Empty>
          ) : (
            <>
              {domains.map((d) => (
                <DomainCard key={d.id} domain={d} onChange={state.reload} />
              ))}
            </>
          )
        }
      </Loaded>
    </Page>
  );
}
