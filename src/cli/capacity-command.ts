import { existsSync, readdirSync, statSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import type { HeraldConfig } from '../config/settings.js';
import type { Backend } from '../backends/backend.js';
import { HeraldError } from '../errors.js';
import { destinationOf } from '../queue/destination.js';
import { forecast, type CapacityReport, type CapacitySample, type Flows } from '../ops/capacity.js';
import { withBackend } from './keys-command.js';
import { humanDuration, printTable, printable } from './queue-command.js';
import type { CommandFlags } from './main.js';

export const CAPACITY_USAGE = `Usage:
  herald capacity [--interval SECONDS] [--json]

Samples the queue twice, SECONDS apart (default 5, from 1 to 300), counts the messages accepted
and delivered in between, and projects at that trend when each destination's backlog empties,
when the queue reaches maxQueuedMessages (sends then get 429) and when the data directory's disk
fills. Works on the data directory (--data-dir), beside a running server.`;

const DEFAULT_INTERVAL_S = 5;
const MAX_INTERVAL_S = 300;
/** Most events read over the interval; past it the rates are lower bounds (and say so). */
const MAX_EVENTS = 200_000;
const PAGE = 5000;

/** `herald capacity`: a linear forecast of the queue and the disk from two samples. */
export async function capacityCommand(config: HeraldConfig, rest: string[], flags: CommandFlags): Promise<number> {
  if (rest.length > 0) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { message: `capacity takes no argument "${printable(rest[0]!).slice(0, 100)}"\n\n${CAPACITY_USAGE}` });
  }
  const intervalS = readInterval(flags.interval);
  // Reading must not make an empty data directory where none was: a typo would forecast nothing.
  if (config.backend === 'sqlite' && !existsSync(join(config.dataDir, 'herald.db'))) {
    throw new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'dataDir', message: `no Herald data in ${config.dataDir}: name the data directory of a server with --data-dir DIR` });
  }
  return withBackend(config, async (backend) => {
    const first = await sample(backend, config);
    const head = await backend.events.head();
    await new Promise((resolve) => setTimeout(resolve, intervalS * 1000));
    const second = await sample(backend, config);
    const flows = await countFlows(backend, head, await backend.events.head());
    const report = forecast(first, second, flows, config);
    if (flags.json === true) console.log(JSON.stringify(report, null, 2));
    else printReport(report, config);
    return 0;
  });
}

function readInterval(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_INTERVAL_S;
  const n = /^\d{1,3}(\.\d{1,3})?$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!(n >= 1 && n <= MAX_INTERVAL_S)) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'interval', message: `--interval must be a number of seconds from 1 to ${MAX_INTERVAL_S}, not "${printable(raw).slice(0, 100)}"` });
  }
  return n;
}

async function sample(backend: Backend, config: HeraldConfig): Promise<CapacitySample> {
  const depths = await backend.queue.destinationDepths();
  const at = Date.now();
  if (backend.kind !== 'sqlite') return { at, depths, dataBytes: null, disk: null };
  const fs = statfsSync(config.dataDir);
  return { at, depths, dataBytes: directoryBytes(config.dataDir), disk: { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize } };
}

/** The bytes of the files under `dir` (the database, its WAL and shared memory, the lock). */
function directoryBytes(dir: string, depth = 0): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    try {
      if (entry.isFile()) total += statSync(path).size;
      else if (entry.isDirectory() && depth < 3) total += directoryBytes(path, depth + 1);
    } catch {
      // Gone between the listing and the stat (a WAL checkpointed away): it takes no room now.
    }
  }
  return total;
}

/** Messages accepted (processed), delivered and bounced or dropped between two cursors, per destination. */
async function countFlows(backend: Backend, from: number, to: number): Promise<Flows> {
  const flows: Flows = { accepted: new Map(), delivered: new Map(), failed: new Map(), complete: true };
  const add = (m: Map<string, number>, d: string) => m.set(d, (m.get(d) ?? 0) + 1);
  let cursor = from;
  let read = 0;
  while (cursor < to) {
    if (read >= MAX_EVENTS) {
      flows.complete = false;
      break;
    }
    const page = await backend.events.readFrom(cursor, PAGE);
    if (page.events.length === 0) break;
    for (const e of page.events) {
      if (e.type !== 'processed' && e.type !== 'delivered' && e.type !== 'bounce' && e.type !== 'dropped') continue;
      const d = destinationOf(e.email);
      if (e.type === 'processed') add(flows.accepted, d);
      else if (e.type === 'delivered') add(flows.delivered, d);
      else add(flows.failed, d);
    }
    read += page.events.length;
    cursor = page.cursor;
  }
  return flows;
}

const rate = (n: number): string => (n === 0 ? '0' : n.toFixed(n < 10 ? 2 : 1));
const signed = (n: number): string => (n > 0 ? `+${rate(n)}` : n < 0 ? `-${rate(-n)}` : '0');
const inS = (s: number | null): string => (s === null ? '' : humanDuration(s * 1000));

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

function printReport(r: CapacityReport, config: HeraldConfig): void {
  console.log(`Sampled over ${r.intervalS} s, ending ${r.sampledAt}.${r.eventsComplete ? '' : ` More than ${MAX_EVENTS} events in the interval: rates are lower bounds.`}`);
  console.log('');
  if (r.destinations.length === 0) console.log('the queue is empty and nothing was accepted');
  else {
    const rows = r.destinations.map((d) => {
      const outlook =
        d.trendPerS > 0
          ? `growing${d.oldestExpiresInS !== null ? `; oldest expires in ${inS(d.oldestExpiresInS)}` : ''}`
          : d.emptyInS !== null
            ? `empty in ${inS(d.emptyInS)}`
            : d.queued > 0
              ? `steady${d.oldestExpiresInS !== null ? `; oldest expires in ${inS(d.oldestExpiresInS)}` : ''}`
              : 'empty';
      return [printable(d.destination), String(d.queued), String(d.leased), d.oldestAgeS === null ? '-' : humanDuration(d.oldestAgeS * 1000), rate(d.acceptedPerS), rate(d.deliveredPerS), signed(d.trendPerS), outlook];
    });
    printTable(['destination', 'queued', 'leased', 'oldest', 'accepted/s', 'delivered/s', 'trend/s', 'forecast'], rows, [false, true, true, false, true, true, true, false]);
  }
  console.log('');
  const q = r.queue;
  const queueOutlook =
    q.fullInS !== null ? `growing ${signed(q.trendPerS)}/s: at the bound in ${inS(q.fullInS)}, then sends get 429` : q.emptyInS !== null ? `shrinking ${signed(q.trendPerS)}/s: empty in ${inS(q.emptyInS)}` : 'steady';
  console.log(`queue: ${q.queued} of ${q.max} (maxQueuedMessages); accepted ${rate(q.acceptedPerS)}/s, delivered ${rate(q.deliveredPerS)}/s; ${queueOutlook}`);
  if (r.disk) {
    const d = r.disk;
    const diskOutlook = d.fullInS !== null ? `growing ${bytes(d.trendBytesPerS)}/s: full in ${inS(d.fullInS)}` : 'not growing';
    console.log(`disk:  ${bytes(d.dataBytes)} in ${config.dataDir}; ${bytes(d.freeBytes)} free of ${bytes(d.totalBytes)}; ${diskOutlook}`);
  } else {
    console.log('disk:  the store is PostgreSQL: watch its disk on the database server');
  }
}
