import { api } from '../api';
import { Empty, Loaded, Page, useLoad } from '../components';

interface Slo {
  name: string;
  objective: number;
  window: string;
  errorBudgetRemaining: number;
  burnRates: Record<string, number>;
  alerts: (string | { name?: string; severity?: string; message?: string; firing?: boolean })[];
}

/** An objective given as 0.999 or 99.9: shown as a percentage. */
const percent = (v: number) => `${(v <= 1 ? v * 100 : v).toFixed(3).replace(/\.?0+$/, '')}%`;

export function Slos() {
  const state = useLoad(() => api<{ slos: Slo[] }>('/v1/slos'), []);
  return (
    <Page title="Service level objectives">
      <Loaded state={state} missing="This server does not measure SLOs yet (GET /v1/slos).">
        {({ slos }) =>
          slos.length === 0 ? (
            <Empty title="No SLOs defined" />
          ) : (
            <div class="grid">
              {slos.map((s) => {
                const budget = Math.max(0, Math.min(1, s.errorBudgetRemaining));
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
                    <p class="small">Error budget remaining: {Math.round(s.errorBudgetRemaining * 100)}%</p>
                    <dl class="facts">
                      {Object.entries(s.burnRates).map(([w, rate]) => (
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
                          <li key={i}>{typeof a === 'string' ? a : [a.severity, a.name, a.message].filter(Boolean).join(' · ')}</li>
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
