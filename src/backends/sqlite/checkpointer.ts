import { Worker } from 'node:worker_threads';

/** How often the worker checkpoints, ms. */
const CHECKPOINT_INTERVAL_MS = 50;
/**
 * WAL pages after which a writer checkpoints on its own thread (SQLite's default is 1000). Only a
 * backstop: with the worker keeping up, the WAL does not get there.
 */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 16_384; // 64 MiB at 4 KiB pages

/**
 * Checkpoints the database's WAL from a worker thread. SQLite otherwise checkpoints inside the
 * commit that takes the WAL past 1000 pages, on whichever connection made it: on the event loop's
 * thread, copying pages and fsyncing the database file while no request or delivery moves.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(path: string) {
    this.worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { path, intervalMs: CHECKPOINT_INTERVAL_MS } });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    // A checkpoint that fails only leaves the work to the writers' backstop.
    this.worker.on('error', () => {});
    this.worker.unref();
  }

  /** Stops after the checkpoint in progress, if any, and closes the worker's connection. */
  async stop(): Promise<void> {
    // Referenced again, or nothing else may keep the event loop alive until the worker exits.
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}
