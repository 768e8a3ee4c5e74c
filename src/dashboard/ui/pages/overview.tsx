import { useMemo, useState } from 'preact/hooks';
import { api } from '../api';
import { Loaded, Page, useLoad, when } from '../components';
import { LineChart, type Series } from '../chart';

/** SendGrid's `GET /v3/stats` answer, aggregated by day. */
type StatsDay = { date: string; stats: { metrics: Record<string, number | undefined> }[] }[];

interface QueueStats {
  ready: number;
  scheduled: number;
  in_progress: number;
  total: number;
  oldest_created_at: string | null;
  oldest_age_seconds: number | null;
}

const isoDay = (d: Date): string => d.toISOString().slice(0, 10);
const daysAgo = (n: number): string => isoDay(new Date(Date.now() - n * 86_400_000));

/** The metrics charted, with SendGrid's names and the dashboard's labels. */
const DELIVERY: [string, string, string][] = [
  ['requests', 'Processed', '#6366f1'],
  ['delivered', 'Delivered', '#16a34a'],
  ['bounces', 'Bounced', '#dc2626'],
  ['deferred', 'Deferred', '#d97706'],
];
const ENGAGEMENT: [string, string, string][] = [
  ['opens', 'Opened', '#0891b2'],
  ['clicks', 'Clicked', '#9333ea'],
];

function age(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
}

function Tile({ label, value, hint }: { label: string; value: string | number; hint?: string }) {
  return (
    <div class="tile">
      <div class="tile-label">{label}</div>
      <div class="tile-value">{value}</div>
      {hint && <div class="tile-hint">{hint}</div>}
    </div>
  );
}

function Charts({ stats }: { stats: StatsDay }) {
  const { days, delivery, engagement, totals } = useMemo(() => {
    const sum = (day: StatsDay[number], metric: string) => day.stats.reduce((t, s) => t + (s.metrics[metric] ?? 0), 0);
    const days = stats.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000);
    const build = (list: [string, string, string][]): Series[] => list.map(([metric, label, color]) => ({ label, color, values: stats.map((d) => sum(d, metric)) }));
    const delivery = build(DELIVERY);
    const engagement = build(ENGAGEMENT);
    const totals = [...delivery, ...engagement].map((s) => [s.label, s.values.reduce((a, b) => a + b, 0)] as const);
    return { days, delivery, engagement, totals };
  }, [stats]);
  return (
    <>
      <div class="tiles">
        {totals.map(([label, total]) => (
          <Tile key={label} label={label} value={total.toLocaleString()} />
        ))}
      </div>
      <div class="charts">
        <LineChart title="Delivery" days={days} series={delivery} />
        <LineChart title="Engagement" days={days} series={engagement} />
      </div>
    </>
  );
}

export function Overview() {
  const [range, setRange] = useState({ start: daysAgo(6), end: daysAgo(0) });
  const stats = useLoad(() => api<StatsDay>(`/v3/stats?${new URLSearchParams({ start_date: range.start, end_date: range.end, aggregated_by: 'day' })}`), [range.start, range.end]);
  const queue = useLoad(() => api<QueueStats>('/v1/queue/stats'), []);
  const preset = (n: number) => setRange({ start: daysAgo(n - 1), end: daysAgo(0) });
  return (
    <Page title="Overview">
      <h2>Queue now</h2>
      <Loaded state={queue} missing="This server has no queue statistics endpoint (GET /v1/queue/stats).">
        {(q) => (
          <div class="tiles">
            <Tile label="Queued" value={q.total.toLocaleString()} hint={`${q.ready} ready · ${q.scheduled} scheduled · ${q.in_progress} sending`} />
            <Tile label="Oldest queued" value={age(q.oldest_age_seconds)} hint={q.oldest_created_at ? `since ${when(q.oldest_created_at)}` : 'the queue is empty'} />
          </div>
        )}
      </Loaded>
      <div class="range">
        <h2>Activity over time</h2>
        <div class="range-controls" role="group" aria-label="Date range">
          <button onClick={() => preset(7)}>7 days</button>
          <button onClick={() => preset(30)}>30 days</button>
          <button onClick={() => preset(90)}>90 days</button>
          <label>
            From <input type="date" name="start_date" value={range.start} max={range.end} onChange={(e) => e.currentTarget.value && setRange({ ...range, start: e.currentTarget.value })} />
          </label>
          <label>
            To <input type="date" name="end_date" value={range.end} min={range.start} onChange={(e) => e.currentTarget.value && setRange({ ...range, end: e.currentTarget.value })} />
          </label>
        </div>
      </div>
      <Loaded state={stats} missing="This server does not answer GET /v3/stats yet, so there are no charts. The queue above and the Activity page work without it.">
        {(s) => (s.length === 0 ? <p class="muted">No mail in this range.</p> : <Charts stats={s} />)}
      </Loaded>
    </Page>
  );
}
