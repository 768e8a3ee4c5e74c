import { startSmtpSink } from '../test/support/smtp-sink.js';

/** Parent → sink process. */
export interface SinkRequest {
  type: 'count';
}

/** Sink process → parent. */
export type SinkReport = { type: 'ready'; port: number } | { type: 'count'; count: number };

// Runs the bench sink in its own process so it has a core of its own and its work never shows up
// in the sender's figures. The parent ends it by disconnecting the IPC channel.
async function main(): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('sink-process: must be started with child_process.fork');
  const sink = await startSmtpSink({ keep: false });
  process.on('message', (msg: SinkRequest) => {
    if (msg.type === 'count') send({ type: 'count', count: sink.count } satisfies SinkReport);
  });
  process.once('disconnect', () => {
    void sink.close().then(() => process.exit(0));
  });
  send({ type: 'ready', port: sink.port } satisfies SinkReport);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
