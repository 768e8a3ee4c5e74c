import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { openBackend } from '../src/backends/backend.js';
import { loadConfig } from '../src/config/load.js';
import { createApiKey } from '../src/accounts/api-keys.js';
import { SCOPES } from '../src/accounts/scopes.js';
import { eventToRow } from '../src/backends/event-rows.js';
import type { HeraldEvent } from '../src/events/event.js';
import { DROP_REASONS } from '../src/suppressions/auto-suppress.js';
import { StatsProjector } from '../src/stats/stats-projector.js';

/** Bump when the generated data changes, so cached directories of the old shape are not reused. */
const SEED_VERSION = 2;
const DAY_MS = 86_400_000;
/** Days the seeded mail spreads over, ending at seeding time. */
export const SEED_DAYS = 45;
export const CATEGORIES = ['welcome', 'receipt', 'password_reset', 'newsletter', 'promo', 'digest', 'alert', 'invoice'];
export const SENDERS = ['news@shop.example', 'receipts@shop.example', 'no-reply@app.example', 'alerts@app.example', 'hello@brand.example'];
const SUBJECTS = ['Your order has shipped', 'Welcome aboard', 'Reset your password', 'Weekly digest', 'Your invoice', 'Flash sale: 20% off', 'Security alert', 'Your receipt'];
const DOMAINS: [string, number][] = [
  ['gmail.com', 40], ['yahoo.com', 10], ['yahoo.co.uk', 3], ['hotmail.com', 7], ['outlook.com', 6], ['live.com', 2],
  ['icloud.com', 8], ['me.com', 2], ['aol.com', 3], ['corp.example', 6], ['school.example.edu', 5], ['mail.example.net', 8],
];

export interface SeededActivity {
  dataDir: string;
  apiKey: string;
  accountId: string;
  events: number;
  messages: number;
  recipients: number;
  /** Seconds spent inserting rows, building the secondary indexes, and projecting stats. */
  insertSeconds: number;
  indexSeconds: number;
  projectSeconds: number;
  /** When the seeded mail ends (epoch ms): queries pick their times from the 45 days before it. */
  endsAt: number;
  /** Whether this run seeded, or found the directory seeded by an earlier run. */
  reused: boolean;
}

/** Deterministic numbers, so every seeding of a size makes the same data (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/**
 * 22 letters and digits, the shape of Herald's ids, that sort in the order they were made: the
 * first 8 count up, the rest are random. Ascending keys append to the primary-key and unique
 * indexes instead of writing all over them, as a bulk import would; lookups cost the same.
 */
function orderedId(n: number, random: () => number): string {
  let head = '';
  for (let i = 0, v = n; i < 8; i++, v = Math.floor(v / 62)) head = ALPHABET[v % 62]! + head;
  let tail = '';
  for (let i = 0; i < 14; i++) tail += ALPHABET[Math.floor(random() * 62)]!;
  return head + tail;
}

/**
 * When an engagement event that would come after the end of the period happens: at a distinct
 * millisecond in the 10 minutes before the end, by its serial (engagement is spread over three
 * days after delivery, and clamping it all to the end itself piled up some 60,000 messages on one
 * last_event_time, which no real store has). The day stays the end's, so the stats are alike.
 */
export function beforeEnd(at: number, endsAt: number, serial: number): number {
  return at <= endsAt ? at : endsAt - 1 - (serial % 600_000);
}

/** The serial an orderedId was made from (its first 8 characters). */
export function serialOf(id: string): number {
  let n = 0;
  for (let i = 0; i < 8; i++) n = n * 62 + ALPHABET.indexOf(id[i]!);
  return n;
}

/** The recipient of index `r`: about five messages each over the period. */
export function recipientOf(r: number): string {
  const total = DOMAINS.reduce((s, [, w]) => s + w, 0);
  let pick = (r * 7919) % total;
  const domain = DOMAINS.find(([, w]) => (pick -= w) < 0)![0];
  return `user${r}@${domain}`;
}

/** Where the seeded directory for `events` events lives; reused while its marker is there. */
export function seededDir(events: number): string {
  return join(tmpdir(), `herald-bench-activity-v${SEED_VERSION}-${events}`);
}

/**
 * Seeds (or finds already seeded) a data directory with `targetEvents` events and their messages:
 * two accounts (90% of the mail in the benchmarked one), five events per recipient on average,
 * a realistic mix of outcomes and engagement, then the stats counters projected from the log by
 * the real projector.
 */
export async function seedActivity(targetEvents: number, log: (line: string) => void): Promise<SeededActivity> {
  const dataDir = seededDir(targetEvents);
  const marker = join(dataDir, 'seeded.json');
  if (existsSync(marker)) return { ...(JSON.parse(readFileSync(marker, 'utf8')) as SeededActivity), reused: true };
  rmSync(dataDir, { recursive: true, force: true });
  const config = loadConfig({ env: {}, overrides: { dataDir, logLevel: 'silent' } });
  let backend = await openBackend(config);
  const account = await backend.accounts.createAccount('default');
  const other = await backend.accounts.createAccount('globex');
  const apiKey = (await createApiKey(backend.accounts, account.id, 'bench', [...SCOPES])).apiKey;
  await backend.close();

  const db = new Database(join(dataDir, 'herald.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF'); // a failed seeding is thrown away and started again
  db.pragma('cache_size = -1048576'); // KiB: 1 GiB
  // Secondary indexes are built once at the end (a sort) instead of row by row.
  const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('messages', 'events') AND sql IS NOT NULL").all() as { name: string; sql: string }[];
  // Dropping an index drops its planner statistics (migration 10 writes them): keep them to put back.
  const stats = db.prepare("SELECT tbl, idx, stat FROM sqlite_stat1 WHERE tbl IN ('messages', 'events')").all() as { tbl: string; idx: string; stat: string }[];
  for (const index of indexes) db.exec(`DROP INDEX ${index.name}`);
  const insertMessage = db.prepare(`INSERT INTO messages (id, account_id, request_id, personalization_index, recipient, recipient_kind, from_email, subject,
      categories, custom_args, api_key_id, template_id, status, last_event, last_event_time, opens_count, clicks_count, ready_at, expires_at, created_at, asm_group_id)
    VALUES (?, ?, ?, 0, ?, 'to', ?, ?, ?, '{}', NULL, NULL, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`);
  const insertEvent = db.prepare('INSERT INTO events (id, account_id, message_id, type, timestamp, data) VALUES (@id, @account_id, @message_id, @type, @timestamp, @data)');

  const random = prng(targetEvents);
  const endsAt = Date.now();
  const startsAt = endsAt - SEED_DAYS * DAY_MS;
  // Messages follow from the event budget: about 3.3 events each with the mix below.
  const expectedMessages = Math.round(targetEvents / 3.3);
  const recipients = Math.max(1, Math.round(expectedMessages / 5));
  let events = 0;
  let messages = 0;
  let eventSerial = 0;
  const started = performance.now();
  const batch: (() => void)[] = [];
  const flush = db.transaction(() => {
    for (const write of batch) write();
  });
  while (events < targetEvents) {
    const n = messages++;
    const accountId = random() < 0.9 ? account.id : other.id;
    const created = Math.min(endsAt - 60_000, Math.floor(startsAt + ((endsAt - startsAt) * n) / expectedMessages));
    const requestId = orderedId(n, random);
    const id = `${requestId}.0`;
    const recipient = recipientOf(Math.floor(random() * recipients));
    const mine: HeraldEvent[] = [];
    const base = () => ({ id: orderedId(eventSerial++, random), accountId, messageId: id, email: recipient });
    mine.push({ ...base(), type: 'processed', timestamp: created });
    const r = random();
    let status: string;
    let lastEvent: string;
    let opens = 0;
    let clicks = 0;
    if (r < 0.03) {
      const reasons = Object.values(DROP_REASONS);
      mine.push({ ...base(), type: 'dropped', timestamp: created + 50, reason: reasons[Math.floor(random() * reasons.length)]! });
      [status, lastEvent] = ['not_delivered', 'dropped'];
    } else if (r < 0.06) {
      const blocked = random() < 0.2;
      mine.push({ ...base(), type: 'bounce', timestamp: created + 2000, bounceType: blocked ? 'blocked' : 'bounce', reason: blocked ? '554 5.7.1 Message rejected as spam' : '550 5.1.1 The email account does not exist', status: blocked ? '5.7.1' : '5.1.1', attempt: 1, mxServer: 'mx.example.net' });
      [status, lastEvent] = ['not_delivered', 'bounce'];
    } else if (r < 0.07) {
      mine.push({ ...base(), type: 'deferred', timestamp: created + 1000, response: '451 4.7.1 Try again later', attempt: 1, nextAttemptAt: created + 61_000, mxServer: 'mx.example.net' });
      [status, lastEvent] = ['processed', 'deferred'];
    } else {
      let at = created + 1500;
      if (random() < 0.1) {
        mine.push({ ...base(), type: 'deferred', timestamp: created + 1000, response: '421 4.7.0 Too many connections', attempt: 1, nextAttemptAt: created + 300_000, mxServer: 'mx.example.net' });
        at = created + 300_000;
      }
      mine.push({ ...base(), type: 'delivered', timestamp: at, response: '250 2.0.0 OK queued', attempt: 1, mxServer: 'mx.example.net' });
      [status, lastEvent] = ['delivered', 'delivered'];
      if (random() < 0.5) {
        opens = 1 + Math.floor(random() * 3);
        for (let k = 0; k < opens; k++) {
          mine.push({ ...base(), type: 'open', timestamp: beforeEnd(at + Math.floor(random() * 3 * DAY_MS), endsAt, eventSerial - 1), machineOpen: random() < 0.3, useragent: 'Mozilla/5.0', ip: '203.0.113.9' });
        }
        if (random() < 0.4) {
          clicks = 1 + Math.floor(random() * 2);
          for (let k = 0; k < clicks; k++) {
            mine.push({ ...base(), type: 'click', timestamp: beforeEnd(at + Math.floor(random() * 3 * DAY_MS), endsAt, eventSerial - 1), url: 'https://shop.example/offer', urlOffset: { index: 0, type: 'html' }, useragent: 'Mozilla/5.0', ip: '203.0.113.9' });
          }
        }
        if (random() < 0.01) mine.push({ ...base(), type: 'unsubscribe', timestamp: beforeEnd(at + DAY_MS, endsAt, eventSerial - 1), useragent: null, ip: null });
        if (random() < 0.002) mine.push({ ...base(), type: 'spamreport', timestamp: beforeEnd(at + DAY_MS, endsAt, eventSerial - 1) });
      }
    }
    const c1 = CATEGORIES[Math.floor(random() * CATEGORIES.length)]!;
    const categories = random() < 0.3 ? [c1, CATEGORIES[Math.floor(random() * CATEGORIES.length)]!] : [c1];
    const subject = SUBJECTS[Math.floor(random() * SUBJECTS.length)]!;
    const from = SENDERS[Math.floor(random() * SENDERS.length)]!;
    const lastTime = Math.max(...mine.map((e) => e.timestamp));
    const rows = mine.map(eventToRow);
    batch.push(() => {
      insertMessage.run(id, accountId, requestId, recipient, from, subject, JSON.stringify([...new Set(categories)]), status, lastEvent, lastTime, opens, clicks, created, created + 3 * DAY_MS, created);
      for (const row of rows) insertEvent.run(row);
    });
    events += mine.length;
    if (batch.length >= 20_000) {
      flush();
      batch.length = 0;
      if (messages % 200_000 === 0) log(`  seeded ${messages.toLocaleString('en-US')} messages, ${events.toLocaleString('en-US')} events (${Math.round(events / ((performance.now() - started) / 1000)).toLocaleString('en-US')} events/s)`);
    }
  }
  flush();
  batch.length = 0;
  const insertSeconds = (performance.now() - started) / 1000;
  const indexStarted = performance.now();
  for (const index of indexes) db.exec(index.sql);
  const restore = db.prepare('INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)');
  db.transaction(() => {
    db.exec("DELETE FROM sqlite_stat1 WHERE tbl IN ('messages', 'events')");
    for (const row of stats) restore.run(row.tbl, row.idx, row.stat);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const indexSeconds = (performance.now() - indexStarted) / 1000;
  log(`  inserted ${events.toLocaleString('en-US')} events and ${messages.toLocaleString('en-US')} messages in ${insertSeconds.toFixed(0)} s; indexes in ${indexSeconds.toFixed(0)} s`);

  // The counters come from the log through the projector, as in a running Herald.
  backend = await openBackend(config);
  const projectStarted = performance.now();
  const projector = new StatsProjector(backend.events, backend.activity, backend.stats, pino({ level: 'silent' }), { batch: 5000 });
  let last = performance.now();
  for (;;) {
    const { read } = await projector.step();
    if (read === 0) break;
    if (performance.now() - last > 30_000) {
      last = performance.now();
      log(`  projected ${projector.projected.toLocaleString('en-US')} events (${Math.round(projector.projected / ((last - projectStarted) / 1000)).toLocaleString('en-US')} events/s)`);
    }
  }
  const projectSeconds = (performance.now() - projectStarted) / 1000;
  await backend.close();
  const seeded: SeededActivity = { dataDir, apiKey, accountId: account.id, events, messages, recipients, insertSeconds, indexSeconds, projectSeconds, endsAt, reused: false };
  writeFileSync(marker, JSON.stringify(seeded));
  return seeded;
}
