import type { AcceptedRequest, MailRequest, NewMessage } from '../message/mail-request.js';
import type { DeferredEvent, FinalEvent } from '../events/event.js';

/** A message leased to one worker until `leaseUntil`; no other worker can claim it before then. */
export interface ClaimedMessage {
  message: NewMessage;
  request: MailRequest;
  /** Attempts made before this one. */
  attempts: number;
  leaseUntil: number;
}

export interface QueueDepth {
  ready: number;
  scheduled: number;
  leased: number;
  /** Epoch ms of the oldest message still queued, null when empty. */
  oldestCreatedAt: number | null;
}

/**
 * The queue port: durable, leased, scheduled. Every state change writes its event in the same
 * step, so the message's status and the event log never disagree.
 */
export interface MessageQueue {
  /** Makes a request's messages durable and ready at their `readyAt`, with their `processed` events. */
  enqueue(accepted: AcceptedRequest): Promise<void>;
  /** Leases up to `limit` ready messages to `owner` for `leaseMs`. */
  claim(owner: string, limit: number, leaseMs: number): Promise<ClaimedMessage[]>;
  /** Renews the leases `owner` holds on these messages; returns the ids still held. */
  extendLease(owner: string, messageIds: string[], leaseMs: number): Promise<string[]>;
  /** Ends a message's life in the queue with its final event. Ignored if `owner` lost the lease. */
  complete(owner: string, event: FinalEvent): Promise<boolean>;
  /** Puts a message back until `event.nextAttemptAt`, recording the deferral. */
  defer(owner: string, event: DeferredEvent): Promise<boolean>;
  /** Gives back every lease `owner` holds (or every lease at all, when null), e.g. at shutdown. */
  release(owner: string | null): Promise<number>;
  /** Epoch ms of the next message to become ready, null when the queue is empty. */
  nextReadyAt(): Promise<number | null>;
  depth(): Promise<QueueDepth>;
  /** Calls back when new work may be ready (in-process wake-up; pollers still cover the rest). */
  onReady(listener: () => void): () => void;
}
