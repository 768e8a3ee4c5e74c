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

/** How many messages `claimFrom` may take from one destination. */
export interface DestinationClaim {
  destination: string;
  limit: number;
}

/** A destination with queued messages and when the first of them can next be claimed. */
export interface WaitingDestination {
  destination: string;
  /** Epoch ms: the earliest ready time of its messages (a leased message counts from its lease expiry). */
  readyAt: number;
}

/** The queue of one destination, as operators see it. */
export interface DestinationDepth extends QueueDepth {
  destination: string;
}

/** One queued message, as operators see it. */
export interface QueueEntry {
  messageId: string;
  accountId: string;
  recipient: string;
  destination: string;
  /** ready: claimable now; scheduled: waiting for its send time or next retry; leased: being delivered. */
  state: 'ready' | 'scheduled' | 'leased';
  attempts: number;
  /** Epoch ms the message becomes claimable (for a leased one, when its lease runs out). */
  readyAt: number;
  createdAt: number;
  /** The last response of a deferred attempt, null before the first. */
  lastResponse: string | null;
}

export interface QueueListOptions {
  destination?: string;
  /** At most this many entries, oldest first. */
  limit: number;
  /** Only entries created after this one (its message id), for paging. */
  after?: string;
}

/**
 * The queue port: durable, leased, scheduled, per destination. Every state change writes its event in the same
 * step, so the message's status and the event log never disagree.
 */
export interface MessageQueue {
  /** Makes a request's messages durable and ready at their `readyAt`, with their `processed` events. */
  enqueue(accepted: AcceptedRequest): Promise<void>;
  /** Leases up to `limit` ready messages to `owner` for `leaseMs`, oldest first, whatever their destination. */
  claim(owner: string, limit: number, leaseMs: number): Promise<ClaimedMessage[]>;
  /**
   * Leases ready messages of the named destinations, each up to its own limit, oldest first within
   * each, in one step. The scheduler uses it to keep a slow destination from taking every slot.
   */
  claimFrom(owner: string, wants: readonly DestinationClaim[], leaseMs: number): Promise<ClaimedMessage[]>;
  /** Every destination with queued messages, with the time its first message can be claimed. */
  waitingDestinations(): Promise<WaitingDestination[]>;
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
  /** How many messages are queued: all of them, or one account's (for its dashboard). */
  depth(accountId?: string): Promise<QueueDepth>;
  /** The depth of every destination with queued messages, deepest first. */
  destinationDepths(): Promise<DestinationDepth[]>;
  /** Queued messages, oldest first. */
  list(options: QueueListOptions): Promise<QueueEntry[]>;
  /** Makes a destination's waiting (not leased) messages ready now, e.g. after its outage; returns how many. */
  retryNow(destination: string): Promise<number>;
  /**
   * Takes a destination's waiting (not leased) messages out of the queue, each with a `dropped`
   * event carrying `reason`; returns how many. Leased ones finish their attempt.
   */
  purge(destination: string, reason: string): Promise<number>;
  /**
   * Calls back when new work may be ready, with the destinations it is for when known (in-process
   * wake-up; pollers still cover scheduled work and other processes).
   */
  onReady(listener: (destinations: readonly string[] | null) => void): () => void;
}
