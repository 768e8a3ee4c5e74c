import { HeraldError } from '../../errors.js';

/**
 * What a service level indicator counts, always as good events out of all events, from Herald's
 * own counters (the HTTP onResponse hook and the metered queue):
 * - `availability`: API responses; good = not 5xx. A 429 is good: it is Herald pushing back as
 *   designed (DESIGN.md principle 4), and the client retries; overload shows in the queue gauges.
 * - `accept-latency`: `POST /v3/mail/send` answered 202 (accepted, written; not sandbox);
 *   good = answered within `thresholdMs`.
 * - `time-to-deliver`: deliverable messages; good = delivered within `thresholdMs` of the time
 *   they could first be sent (accept, or `send_at`); each message counts once, at that deadline.
 */
export type Sli =
  | { kind: 'availability' }
  | { kind: 'accept-latency'; thresholdMs: number }
  | { kind: 'time-to-deliver'; thresholdMs: number };

export type SliKind = Sli['kind'];

/** One SLO as configured (OpenSLO's name, description, indicator, objective and time window). */
export interface SloSpec {
  description: string;
  /** Share of events that must be good, e.g. 0.9995. */
  objective: number;
  /** Rolling window the objective and the error budget are over, days. */
  windowDays: number;
  sli: Sli;
}

/** An SLO with its name (the key it is configured under). */
export interface SloDefinition extends SloSpec {
  name: string;
}

/** The SLOs Herald ships with (setting `slos`); setting it replaces them all. */
export const DEFAULT_SLOS: Record<string, SloSpec> = {
  'api-availability': {
    description: 'API responses that are not 5xx (429 counts as good: intended pushback)',
    objective: 0.9995,
    windowDays: 30,
    sli: { kind: 'availability' },
  },
  'accept-latency': {
    description: 'POST /v3/mail/send accepted (202) within 100 ms',
    objective: 0.999,
    windowDays: 30,
    sli: { kind: 'accept-latency', thresholdMs: 100 },
  },
  'time-to-deliver': {
    description: 'Deliverable messages delivered within 60 s of accept (or send_at)',
    objective: 0.99,
    windowDays: 30,
    sli: { kind: 'time-to-deliver', thresholdMs: 60_000 },
  },
};

/** Most SLOs: each is a label value in /metrics and a row per minute in the store. */
export const MAX_SLOS = 20;
/** Longest SLO window, days: buckets are kept this long (a minute each). */
export const MAX_WINDOW_DAYS = 30;
const THRESHOLD_RANGE: Record<Exclude<SliKind, 'availability'>, [number, number]> = {
  'accept-latency': [1, 60_000],
  'time-to-deliver': [1000, 24 * 3600 * 1000],
};
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Checks the `slos` setting strictly (unknown fields, out-of-range numbers and unknown kinds stop
 * start-up) and fills in defaults (`windowDays` 30, `description` empty). Throws HERALD_ERR_CONFIG
 * naming the SLO and field.
 */
export function parseSlos(value: unknown, where: string): Record<string, SloSpec> {
  const fail = (message: string): never => {
    throw new HeraldError('HERALD_ERR_CONFIG', { message: `slos from ${where}: ${message}` });
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('must be a JSON object of SLOs keyed by name');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_SLOS) fail(`at most ${MAX_SLOS} SLOs, got ${entries.length}`);
  const out: Record<string, SloSpec> = {};
  for (const [name, raw] of entries) {
    if (!NAME.test(name)) fail(`SLO name ${JSON.stringify(name.slice(0, 80))} must be lowercase letters, digits and -, starting with a letter, at most 63 characters`);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${name} must be an object`);
    const spec = raw as Record<string, unknown>;
    for (const field of Object.keys(spec)) {
      if (!['description', 'objective', 'windowDays', 'sli'].includes(field)) fail(`${name} has unknown field ${JSON.stringify(field.slice(0, 80))} (description, objective, windowDays, sli)`);
    }
    const description = spec.description ?? '';
    if (typeof description !== 'string' || description.length > 500 || /[\0-\x1f\x7f]/.test(description)) fail(`${name}.description must be text of at most 500 characters on one line`);
    const objective = spec.objective;
    // Below 0.5 is not an objective; above 0.99999 the error budget of a month is seconds.
    if (typeof objective !== 'number' || !Number.isFinite(objective) || objective < 0.5 || objective > 0.99999) fail(`${name}.objective must be a number from 0.5 to 0.99999, e.g. 0.999`);
    const windowDays = spec.windowDays ?? 30;
    if (typeof windowDays !== 'number' || !Number.isInteger(windowDays) || windowDays < 1 || windowDays > MAX_WINDOW_DAYS) fail(`${name}.windowDays must be a whole number from 1 to ${MAX_WINDOW_DAYS}`);
    out[name] = { description: description as string, objective: objective as number, windowDays: windowDays as number, sli: parseSli(name, spec.sli, fail) };
  }
  return out;
}

function parseSli(name: string, raw: unknown, fail: (message: string) => never): Sli {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(`${name}.sli must be an object such as {"kind": "availability"}`);
  const sli = raw as Record<string, unknown>;
  const kind = sli.kind;
  if (kind === 'availability') {
    if (Object.keys(sli).some((k) => k !== 'kind')) fail(`${name}.sli of kind availability takes no other field`);
    return { kind };
  }
  if (kind === 'accept-latency' || kind === 'time-to-deliver') {
    if (Object.keys(sli).some((k) => k !== 'kind' && k !== 'thresholdMs')) fail(`${name}.sli of kind ${kind} takes only thresholdMs`);
    const [min, max] = THRESHOLD_RANGE[kind];
    const threshold = sli.thresholdMs;
    if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < min || threshold > max) fail(`${name}.sli.thresholdMs must be a whole number of ms from ${min} to ${max}`);
    return { kind, thresholdMs: threshold as number };
  }
  return fail(`${name}.sli.kind must be one of availability, accept-latency, time-to-deliver, got ${JSON.stringify(String(kind).slice(0, 80))}`);
}

/** The configured SLOs as a list, in configuration order. */
export function sloList(slos: Record<string, SloSpec>): SloDefinition[] {
  return Object.entries(slos).map(([name, spec]) => ({ name, ...spec }));
}
