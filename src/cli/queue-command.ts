import type { HeraldConfig } from '../config/settings.js';
import type { DestinationDepth, QueueEntry } from '../queue/queue.js';
import { destinationOf } from '../queue/destination.js';
import { HeraldError } from '../errors.js';
import { withBackend } from './keys-command.js';
import type { CommandFlags } from './main.js';

export const QUEUE_USAGE = `Usage:
  herald queue stats [--json]                               queued messages per destination
  herald queue list [--destination D] [--limit N] [--json]  queued messages, oldest first (limit 50, at most ${10_000})
  herald queue retry --destination D                        makes D's waiting messages ready now
  herald queue purge --destination D [--yes]                drops D's waiting messages (each gets a dropped event)

A destination is a recipient domain, e.g. gmail.com. These commands work on the data directory
(--data-dir), whether or not herald start runs on it.`;

export const PURGE_REASON = 'Purged from the queue by an operator';
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 10_000;

/**
 * `herald queue stats|list|retry|purge`, on the data directory like `keys`: it opens the store shared,
 * so it works beside a running server. A server picks up retried messages at its next poll.
 */
export async function queueCommand(config: HeraldConfig, sub: string | undefined, rest: string[], flags: CommandFlags): Promise<number> {
  const verb = sub ?? 'stats';
  if (!['stats', 'list', 'retry', 'purge'].includes(verb)) {
    console.error(`herald queue: unknown subcommand "${sub}"\n\n${QUEUE_USAGE}`);
    return 2;
  }
  if (rest.length > 0) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { message: `queue ${verb} takes no argument "${rest[0]!.slice(0, 100)}"; name a destination with --destination D` });
  }
  // Every argument is checked before the data directory is opened (or created).
  const destination = flags.destination === undefined ? undefined : readDestination(flags.destination);
  if ((verb === 'retry' || verb === 'purge') && destination === undefined) {
    throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: 'destination', message: `queue ${verb} needs --destination D, e.g. herald queue ${verb} --destination gmail.com` });
  }
  const limit = verb === 'list' ? readLimit(flags.limit) : DEFAULT_LIMIT;

  return withBackend(config, async (backend) => {
    const queue = backend.queue;
    if (verb === 'stats') {
      printStats(await queue.destinationDepths(), flags.json === true);
      return 0;
    }
    if (verb === 'list') {
      const entries = await queue.list({ ...(destination !== undefined ? { destination } : {}), limit });
      printList(entries, destination, flags.json === true);
      if (entries.length === limit && flags.json !== true) console.error(`herald queue: showing the oldest ${limit}; more may be queued (--limit N, at most ${MAX_LIMIT})`);
      return 0;
    }
    const dest = destination!;
    if (verb === 'retry') {
      const count = await queue.retryNow(dest);
      console.log(count === 0 ? `no waiting messages for ${dest}: nothing to retry` : `${plural(count, 'message')} for ${dest} ready now`);
      return 0;
    }
    // purge
    const depth = (await queue.destinationDepths()).find((d) => d.destination === dest);
    const waiting = depth ? depth.ready + depth.scheduled : 0;
    const leased = depth?.leased ?? 0;
    const leasedNote = leased > 0 ? `; ${plural(leased, 'message')} being delivered now ${leased === 1 ? 'finishes its' : 'finish their'} attempt` : '';
    if (waiting === 0) {
      console.log(`no waiting messages for ${dest}: nothing to purge${leasedNote}`);
      return 0;
    }
    if (flags.yes !== true) {
      console.error(`herald queue purge: this would drop ${plural(waiting, 'message')} queued for ${dest}${leasedNote}.`);
      console.error(`Each gets a dropped event ("${PURGE_REASON}"). To go ahead: herald queue purge --destination ${dest} --yes`);
      return 2;
    }
    const progress = process.stderr.isTTY === true;
    if (progress) process.stderr.write(`purging ${plural(waiting, 'message')} queued for ${dest}…\n`);
    const dropped = await queue.purge(dest, PURGE_REASON);
    if (progress) process.stderr.write('done\n');
    console.log(`dropped ${plural(dropped, 'message')} queued for ${dest}${leasedNote}`);
    return 0;
  });
}

function readDestination(raw: string): string {
  const destination = destinationOf('x@' + raw.trim());
  if (!destination || /[\s\0-\x1f\x7f@]/.test(destination) || raw.includes('@')) {
    throw new HeraldError('HERALD_ERR_INVALID_DOMAIN', { field: 'destination', message: `--destination "${printable(raw).slice(0, 100)}" is not a domain name, e.g. gmail.com` });
  }
  return destination;
}

function readLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const n = /^\d{1,6}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'limit', message: `--limit must be a whole number from 1 to ${MAX_LIMIT}, not "${printable(raw).slice(0, 100)}"` });
  }
  return n;
}

function printStats(depths: DestinationDepth[], json: boolean): void {
  const now = Date.now();
  const total = depths.reduce(
    (t, d) => ({
      ready: t.ready + d.ready,
      scheduled: t.scheduled + d.scheduled,
      leased: t.leased + d.leased,
      oldestCreatedAt: d.oldestCreatedAt !== null && (t.oldestCreatedAt === null || d.oldestCreatedAt < t.oldestCreatedAt) ? d.oldestCreatedAt : t.oldestCreatedAt,
    }),
    { ready: 0, scheduled: 0, leased: 0, oldestCreatedAt: null as number | null },
  );
  if (json) {
    const shape = (d: Omit<DestinationDepth, 'destination'>) => ({
      ready: d.ready,
      scheduled: d.scheduled,
      leased: d.leased,
      total: d.ready + d.scheduled + d.leased,
      oldestCreatedAt: d.oldestCreatedAt === null ? null : new Date(d.oldestCreatedAt).toISOString(),
      oldestAgeSeconds: d.oldestCreatedAt === null ? null : Math.max(0, Math.floor((now - d.oldestCreatedAt) / 1000)),
    });
    console.log(JSON.stringify({ destinations: depths.map((d) => ({ destination: d.destination, ...shape(d) })), total: shape(total) }, null, 2));
    return;
  }
  if (depths.length === 0) {
    console.log('the queue is empty');
    return;
  }
  const age = (at: number | null) => (at === null ? '-' : humanDuration(now - at));
  const rows = depths.map((d) => [printable(d.destination), String(d.ready), String(d.scheduled), String(d.leased), age(d.oldestCreatedAt)]);
  rows.push(['total', String(total.ready), String(total.scheduled), String(total.leased), age(total.oldestCreatedAt)]);
  printTable(['destination', 'ready', 'scheduled', 'leased', 'oldest'], rows, [false, true, true, true, false]);
}

function printList(entries: QueueEntry[], destination: string | undefined, json: boolean): void {
  const now = Date.now();
  if (json) {
    const iso = (ms: number) => new Date(ms).toISOString();
    console.log(JSON.stringify(entries.map((e) => ({ ...e, readyAt: iso(e.readyAt), createdAt: iso(e.createdAt) })), null, 2));
    return;
  }
  if (entries.length === 0) {
    console.log(destination === undefined ? 'the queue is empty' : `no queued messages for ${destination}`);
    return;
  }
  const next = (e: QueueEntry) => (e.state === 'leased' ? 'in progress' : e.readyAt <= now ? 'now' : `in ${humanDuration(e.readyAt - now)}`);
  const rows = entries.map((e) => [e.messageId, printable(e.recipient), e.state, String(e.attempts), next(e), e.lastResponse === null ? '-' : printable(e.lastResponse)]);
  const header = ['id', 'recipient', 'state', 'attempts', 'next attempt', 'last response'];
  // The last response is cut to what is left of the terminal's width (120 columns when not a terminal).
  const widths = header.slice(0, 5).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const room = Math.max(20, (process.stdout.columns || 120) - widths.reduce((a, b) => a + b + 2, 0));
  for (const r of rows) r[5] = truncate(r[5]!, room);
  printTable(header, rows, [false, false, false, true, false, false]);
}

/** Columns two spaces apart; numbers right-aligned; the last column is not padded. */
export function printTable(header: string[], rows: string[][], right: boolean[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

/** 12 s, 3 min, 2 h, 4 d: the largest whole unit, rounded down. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + '…';
}

/** One line of plain text: a multi-line SMTP response or a stray control character cannot break the table. */
export function printable(text: string): string {
  return text.replace(/[\s\0-\x1f\x7f]+/g, ' ').trim();
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
