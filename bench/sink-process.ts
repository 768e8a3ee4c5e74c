import { startSmtpSink, type SmtpSinkOptions } from '../test/support/smtp-sink.js';
import { clockMs } from './clock.js';

/** Parent → sink process. */
export type SinkRequest = { type: 'count' } | { type: 'arrivals' };

/** Sink process → parent. */
export type SinkReport =
  | { type: 'ready'; port: number }
  | { type: 'count'; count: number }
  /** Message-ID (without angle brackets) → arrival time on the shared clock, ms since the epoch. */
  | { type: 'arrivals'; arrivals: [string, number][] };

const MESSAGE_ID = /^Message-ID:\s*<([^>\r\n]+)>/im;

// Runs the bench sink in its own process so it has a core of its own and its work never shows up
// in the sender's figures. The parent ends it by disconnecting the IPC channel. With the argument
// `arrivals` it also notes when each message arrived, keyed by its Message-ID, for latency runs;
// that costs a header scan per message, so throughput runs leave it off.
async function main(): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('sink-process: must be started with child_process.fork');
  const recordArrivals = process.argv.includes('arrivals');
  // `hosts=127.0.0.2,127.0.0.3`: one sink on each address, all on the same port, as MX hosts
  // on the Internet all listen on 25 (direct MX runs). Default: one on 127.0.0.1.
  const hosts = process.argv.find((a) => a.startsWith('hosts='))?.slice('hosts='.length).split(',') ?? ['127.0.0.1'];
  const arrivals: [string, number][] = [];
  const options = {
    keep: false,
    ...(recordArrivals
      ? {
          onData(msg) {
            const at = clockMs();
            // The headers end at the first empty line; only they are searched.
            const end = msg.raw.indexOf('\r\n\r\n');
            const id = MESSAGE_ID.exec(msg.raw.subarray(0, end < 0 ? msg.raw.length : end).toString('latin1'));
            if (id) arrivals.push([id[1]!, at]);
          },
        }
      : {}),
  } satisfies SmtpSinkOptions;
  const first = await startSmtpSink({ ...options, host: hosts[0]! });
  const sinks = [first];
  for (const host of hosts.slice(1)) sinks.push(await startSmtpSink({ ...options, host, port: first.port }));
  const count = (): number => sinks.reduce((n, s) => n + s.count, 0);
  process.on('message', (msg: SinkRequest) => {
    if (msg.type === 'count') send({ type: 'count', count: count() } satisfies SinkReport);
    else send({ type: 'arrivals', arrivals } satisfies SinkReport);
  });
  process.once('disconnect', () => {
    void Promise.all(sinks.map((s) => s.close())).then(() => process.exit(0));
  });
  send({ type: 'ready', port: first.port } satisfies SinkReport);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
