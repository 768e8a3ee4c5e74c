import type { TestContext } from 'node:test';
import { rmSync } from 'node:fs';
import type { Backend } from '../../src/backends/backend.js';
import type { HeraldConfig } from '../../src/config/settings.js';
import { createLogger } from '../../src/ops/logger.js';
import { DeliveryWorker } from '../../src/delivery/delivery-worker.js';
import { SmtpTransport } from '../../src/delivery/smtp/smtp-transport.js';
import type { MessageQueue } from '../../src/queue/queue.js';
import type { SuppressionStore } from '../../src/suppressions/suppression-store.js';

/**
 * A delivery worker over `backend` relaying through `config.smtpRelay`, with the queue or the
 * suppression store swapped for a test's wrapped one where given. Started; when the test ends the
 * worker and its transport stop first, then the store closes and `dataDir` is removed.
 */
export function startRelayWorker(
  t: TestContext,
  parts: { backend: Backend; config: HeraldConfig; dataDir: string; queue?: MessageQueue; suppressions?: SuppressionStore },
): DeliveryWorker {
  const { backend, config, dataDir } = parts;
  const transport = new SmtpTransport(config);
  const worker = new DeliveryWorker(parts.queue ?? backend.queue, parts.suppressions ?? backend.suppressions, backend.domains, transport, config, createLogger('silent'));
  worker.start();
  // Hooks run in the order they were added: a test's own hooks added before this one run first.
  t.after(async () => {
    await worker.stop(1000);
    await transport.close();
    await backend.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return worker;
}
