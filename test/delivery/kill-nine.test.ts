import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { startSmtpSink, type SmtpSink, heraldMessageId } from '../support/smtp-sink.js';
import { eventually, mailBody, tempDataDir } from '../support/test-herald.js';
import { freePort } from '../support/free-port.js';
import { startHerald, stopHeraldChildren, waitForExit, type HeraldChild } from '../support/herald-child.js';

/*
 * kill -9 while delivering: 20,000 messages go in through the API while Herald is SIGKILLed at
 * five random moments and restarted on the same data directory each time. Every message answered
 * with 202 must reach the relay at least once; a message may arrive twice only if it was in flight
 * when its process died, so duplicates stay within five in-flight windows.
 *
 * The moments are random but reproducible: the diagnostic prints the seed, and
 * HERALD_KILL_NINE_SEED=<seed> replays the same kill points (the machine still decides the timing).
 */

const MESSAGES = 20_000;
const PER_REQUEST = 1000; // SendGrid's limit of personalizations per request: one message each
const KILLS = 5;
/** HERALD_DELIVERY_CONCURRENCY: the most messages one process has in flight, so the most a kill can duplicate. */
const CONCURRENCY = 64;
const HOSTNAME = 'kill-nine.test';
const SUBMITTERS = 2; // requests in flight at once, so a kill often lands in the middle of one
/** Accepted but not yet at the relay: submission waits above this, so it lasts about as long as delivery and the kills hit both. */
const BACKLOG = 4000;
const DEADLINE = 5 * 60_000; // ms; any single wait (progress before a kill, the backlog, the final arrivals)
const TEST_TIMEOUT = 10 * 60_000; // ms; a hang fails the file instead of the whole run

const dirs: string[] = [];
const sinks: SmtpSink[] = [];

after(async () => {
  await stopHeraldChildren();
  await Promise.all(sinks.map((s) => s.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** mulberry32: a small seeded generator, so a failing run's kill points can be replayed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The Herald message id (`requestId.n`) of a delivered message, from its Message-ID. */
function messageIdOf(raw: Buffer): string | undefined {
  return heraldMessageId(raw)?.id;
}

test(
  `kill -9 five times while delivering ${MESSAGES} messages: every accepted message arrives, duplicates stay within the in-flight window`,
  { timeout: TEST_TIMEOUT },
  async (t) => {
    const began = Date.now();
    const seed = Number(process.env.HERALD_KILL_NINE_SEED ?? randomInt(2 ** 31));
    const random = seededRandom(seed);
    // One kill in each fifth of 5%..90% of the run, measured in arrivals at the relay: spread over
    // the delivery, and each one after real progress, so the run cannot stall in restart loops.
    const span = { from: 0.05 * MESSAGES, to: 0.9 * MESSAGES };
    const slot = (span.to - span.from) / KILLS;
    const killPoints = Array.from({ length: KILLS }, (_, k) => ({
      arrivals: Math.round(span.from + slot * (k + random())),
      minRunMs: 300 + Math.round(random() * 1200), // at least this long after the banner
      jitterMs: Math.round(random() * 300), // then this much more, to land anywhere in a delivery
      // Every other kill waits for a request in flight too (while any are left to send) and hits
      // it a few ms in: the path where a request may be stored but never acknowledged.
      duringRequest: k % 2 === 1,
      requestJitterMs: Math.round(random() * 40),
    }));

    const sink = await startSmtpSink();
    sinks.push(sink);
    const dir = tempDataDir();
    dirs.push(dir);
    const settings = {
      HERALD_PORT: String(await freePort()),
      HERALD_DATA_DIR: dir,
      HERALD_SMTP_RELAY: sink.url,
      HERALD_HOSTNAME: HOSTNAME,
      HERALD_DELIVERY_CONCURRENCY: String(CONCURRENCY),
      HERALD_DELIVERY_POLL_MS: '50',
      HERALD_LOG_LEVEL: 'warn',
    };

    // --- the process, and any exit the test did not cause -------------------------------------
    const killedByTest = new Set<HeraldChild>();
    let died: string | null = null;
    const watch = (child: HeraldChild): HeraldChild => {
      void child.exited.then((exit) => {
        if (!killedByTest.has(child)) died ??= `herald exited on its own (${JSON.stringify(exit)}):\n${child.output()}`;
      });
      return child;
    };
    const alive = (): void => {
      if (died) throw new Error(died);
    };
    let current = watch(await startHerald(settings));
    let startedAt = Date.now();
    assert.ok(current.apiKey, `the first start prints an API key:\n${current.output()}`);
    const apiKey = current.apiKey;
    const url = current.url; // same port on every start
    /** Resolves while the current process is up; replaced by a pending one just before each kill. */
    let up: Promise<void> = Promise.resolve();

    // --- what the relay saw --------------------------------------------------------------------
    const arrivals = new Map<string, number>(); // message id → times it reached the relay
    const missing = new Set<string>(); // accepted, not arrived yet
    const accepted = new Set<string>();
    let seen = 0;
    let unparsable = 0;
    const tally = (): void => {
      for (; seen < sink.messages.length; seen++) {
        const id = messageIdOf(sink.messages[seen]!.raw);
        if (id === undefined) {
          unparsable++;
          continue;
        }
        arrivals.set(id, (arrivals.get(id) ?? 0) + 1);
        missing.delete(id);
      }
    };
    const accept = (requestId: string, count: number): void => {
      tally();
      for (let n = 0; n < count; n++) {
        const id = `${requestId}.${n}`;
        accepted.add(id);
        if (!arrivals.has(id)) missing.add(id);
      }
    };

    // --- submitting: only a 202 counts; a request cut off by a kill is sent again as a new one --
    let nextRequest = 0;
    let requestsSent = 0;
    let requestsLost = 0;
    let requestsInFlight = 0;
    let submitting = true;
    const requestCount = MESSAGES / PER_REQUEST;
    const bodyOf = (r: number): string =>
      JSON.stringify(
        mailBody({
          subject: `kill-nine ${r}`,
          content: [{ type: 'text/plain', value: 'x' }],
          personalizations: Array.from({ length: PER_REQUEST }, (_, i) => ({ to: [{ email: `r${r}-${i}@example.com` }] })),
        }),
      );
    const submitter = async (): Promise<void> => {
      for (let r = nextRequest++; r < requestCount; r = nextRequest++) {
        const body = bodyOf(r);
        await eventually(
          async () => {
            alive();
            tally();
            return sink.count >= accepted.size - BACKLOG;
          },
          DEADLINE,
          `the relay to come within ${BACKLOG} of the ${accepted.size} accepted messages (it has ${sink.count})`,
        );
        for (let attempt = 1; ; attempt++) {
          await up;
          alive();
          requestsSent++;
          let res: Response;
          requestsInFlight++;
          try {
            res = await fetch(`${url}/v3/mail/send`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body });
          } catch (error) {
            requestsInFlight--;
            // Killed mid-request (or a kept-alive connection to a dead process): maybe stored,
            // never acknowledged. Its messages may still reach the relay; they are not counted.
            requestsLost++;
            assert.ok(attempt < 100, `request ${r} failed ${attempt} times; last: ${String(error)}`);
            await sleep(50);
            continue;
          }
          requestsInFlight--;
          const text = await res.text().catch(() => '');
          if (res.status === 202) {
            const requestId = res.headers.get('x-message-id');
            assert.ok(requestId, 'a 202 carries X-Message-Id');
            accept(requestId, PER_REQUEST);
            break;
          }
          assert.ok(res.status >= 500, `request ${r}: ${res.status} ${text}`);
          requestsLost++;
          assert.ok(attempt < 100, `request ${r} failed ${attempt} times; last: ${res.status} ${text}`);
          await sleep(50);
        }
      }
    };

    // --- killing --------------------------------------------------------------------------------
    const kills: string[] = [];
    const killer = async (): Promise<void> => {
      for (const [k, point] of killPoints.entries()) {
        await eventually(
          async () => {
            alive();
            return sink.count >= point.arrivals && Date.now() - startedAt >= point.minRunMs;
          },
          DEADLINE,
          `kill ${k + 1}: ${point.arrivals} arrivals at the relay (it has ${sink.count})`,
        );
        if (point.duringRequest) {
          await eventually(
            async () => {
              alive();
              return requestsInFlight > 0 || !submitting;
            },
            DEADLINE,
            `kill ${k + 1}: a request in flight`,
          );
          await sleep(point.requestJitterMs);
        } else {
          await sleep(point.jitterMs);
        }
        alive();
        let resume!: () => void;
        up = new Promise((resolve) => (resume = resolve));
        const victim = current;
        killedByTest.add(victim);
        const arrivedAtKill = sink.count;
        victim.proc.kill('SIGKILL');
        assert.deepEqual(await waitForExit(victim, `process ${k + 1} to die`), { code: null, signal: 'SIGKILL' });
        kills.push(`${arrivedAtKill}@${((Date.now() - began) / 1000).toFixed(1)}s`);
        current = watch(await startHerald(settings));
        startedAt = Date.now();
        assert.equal(current.apiKey, null, 'a restart makes no new key');
        resume();
      }
    };

    // The first failure stops the others at their next check instead of at their deadlines.
    const stopOthers = (error: unknown): never => {
      died ??= `stopped after another failure: ${String(error)}`;
      throw error;
    };
    const submitters = Promise.all(Array.from({ length: SUBMITTERS }, () => submitter().catch(stopOthers))).finally(() => (submitting = false));
    await Promise.all([killer().catch(stopOthers), submitters]);
    assert.equal(accepted.size, MESSAGES, 'every request was eventually accepted');
    assert.equal(kills.length, KILLS);

    // --- every accepted message at the relay at least once --------------------------------------
    try {
      await eventually(
        async () => {
          alive();
          tally();
          return missing.size === 0;
        },
        DEADLINE,
        'every accepted message at the relay',
      );
    } catch (error) {
      const sample = [...missing].slice(0, 5);
      const statuses = await Promise.all(
        sample.map(async (id) => {
          const res = await fetch(`${url}/v3/messages/${id}`, { headers: { authorization: `Bearer ${apiKey}` } }).catch((e: unknown) => String(e));
          return typeof res === 'string' ? `${id}: ${res}` : `${id}: ${res.status} ${await res.text()}`;
        }),
      );
      assert.fail(`${missing.size} of ${MESSAGES} accepted messages never reached the relay (${String(error)}); e.g.\n${statuses.join('\n')}`);
    }

    let duplicates = 0;
    let unknown = 0;
    for (const [id, times] of arrivals) {
      if (accepted.has(id)) duplicates += times - 1;
      else unknown += times;
    }
    const limit = KILLS * CONCURRENCY;
    t.diagnostic(
      `kill-nine: accepted ${accepted.size}, delivered ${accepted.size - missing.size}, duplicates ${duplicates} (limit ${limit}), ` +
        `kills ${kills.length} at arrivals ${kills.join(' ')}, requests sent ${requestsSent} (${requestsLost} cut off), ` +
        `unacknowledged arrivals ${unknown}, relay total ${sink.count}, seed ${seed}, ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
    assert.equal(unparsable, 0, 'every relayed message carries a Herald Message-ID');
    assert.ok(duplicates <= limit, `${duplicates} duplicates, more than ${KILLS} kills × ${CONCURRENCY} in flight`);

    // After all that, the last process still stops cleanly.
    killedByTest.add(current);
    current.proc.kill('SIGTERM');
    assert.deepEqual(await waitForExit(current, 'the last process to stop'), { code: 0, signal: null }, current.output());
  },
);
