import { api, ApiError } from '../api';
import { Empty, Loaded, Page, useLoad } from '../components';

/** One SLO as `GET /v1/slos` answers (src/ops/slo/slo-report.ts). */
interface Slo {
  name: string;
  description: string;
  objective: number;
  window: string;
  error_budget_remaining: number;
  burn_rates: Record<string, number>;
  alerts: { severity: string; since: string; reason: string }[];
}

/** An objective given as 0.999 or 99.9: shown as a percentage. */
const percent = (v: number) => `${(v <= 1 ? v * 100 : v).toFixed(3).replace(/\.?0+$/, '')}%`;

export function Slos() {
  const state = useLoad(() => api<{ slos: Slo[] }>('/v1/slos'), []);
  if (state.error instanceof ApiError && state.error.status === 403) {
    return (
      <Page title="Service level objectives">
        <Empty title="For the server's operators">
          SLOs cover the whole server, every account's traffic: read them with an API key holding the slo.read scope, or with herald slo status on the server.
        </Empty>
      </Page>
    );
  }
  return (
    <Page title="Service level objectives">
      <Loaded state={state} missing="This server does not measure SLOs yet (GET /v1/slos).">
        {({ slos }) =>
          slos.length === 0 ? (
            <Empty title="No SLOs defined" />
          ) : (
            <div class="grid">
              {slos.map((s) => {
                const budget = Math.max(0, Math.min(1, s.error_budget_remaining));
                return (
                  <div class="card" key={s.name}>
                    <div class="card-head">
                      <h2>{s.name}</h2>
                      <span class="muted">
                        {percent(s.objective)} over {s.window}
                      </span>
                    </div>
                    <div class="budget" aria-label={`Error budget remaining ${Math.round(budget * 100)}%`}>
                      <div class={budget < 0.25 ? 'budget-bar low' : 'budget-bar'} style={{ width: `${budget * 100}%` }} />
                    </div>
                    <p class="small">Error budget remaining: {Math.round(s.error_budget_remaining * 100)}%</p>
                    <dl class="facts">
                      {Object.entries(s.burn_rates).map(([w, rate]) => (
                        <>
                          <dt>Burn rate {w}</dt>
                          <dd>{rate.toFixed(2)}×</dd>
                        </>
                      ))}
                    </dl>
                    {s.alerts.length === 0 ? (
                      <p class="muted small">No alerts firing.</p>
                    ) : (
                      <ul class="alerts">
                        {s.alerts.map((a, i) => (
                          <li key={i}>{[a.severity, a.reason, `since ${a.since}`].join(' · ')}</li>
                        ))}
                      </ul>
                    )}
                  </div>
                );
              })}
            </div>
          )
        }
      </Loaded>
    </Page>
  );
}
