import type { DestinationOverride, HeraldConfig } from '../config/settings.js';

/** The settings traffic shaping reads. */
export type ShaperConfig = Pick<
  HeraldConfig,
  | 'deliveryConcurrency'
  | 'destinationMaxConnections'
  | 'destinationMaxMessagesPerConnection'
  | 'destinationMessagesPerSecond'
  | 'destinationBreakerFailures'
  | 'destinationBreakerPauseMs'
  | 'destinationOverrides'
>;

/** The limits one destination is held to. */
export interface DestinationShape {
  maxConnections: number;
  maxMessagesPerConnection: number;
  /** 0: unlimited. */
  messagesPerSecond: number;
  /** Messages of the destination in progress at once: composing, waiting for a connection, on the wire. */
  maxInFlight: number;
}

/** How an attempt ended, as far as the destination's health goes. */
export type AttemptHealth =
  /** The server answered (delivered, deferred or bounced): it is up. */
  | 'answered'
  /** Connect, greeting, EHLO or STARTTLS failed: counts towards the circuit breaker. */
  | 'session-failure'
  /** No attempt reached the network (suppressed, could not compose): says nothing of the destination. */
  | 'not-attempted';

/** Messages in progress per allowed connection: one on the wire, one pipelined, two being prepared. */
const IN_FLIGHT_PER_CONNECTION = 4;
/** A failed probe doubles the pause, up to this many times the configured one. */
const MAX_PAUSE_FACTOR = 16;

interface State {
  inFlight: number;
  /** Token bucket for `messagesPerSecond`; refilled lazily from `refilledAt`. */
  tokens: number;
  refilledAt: number;
  /** Session failures in a row. */
  failures: number;
  /** While in the future, the breaker is open: nothing is claimed. */
  pausedUntil: number;
  pauseMs: number;
  /** After a pause, one attempt at a time until one succeeds (half-open). */
  probing: boolean;
}

/** A destination the breaker holds back. */
export interface PausedDestination {
  destination: string;
  until: number;
  failures: number;
}

/**
 * Traffic shaping per destination: how many of its messages may be in progress, how fast new ones
 * may start (a token bucket with one second of burst), and a circuit breaker that stops claiming a
 * destination's messages after `destinationBreakerFailures` session failures in a row. A paused
 * destination's messages stay queued, unattempted and without events, until the pause ends; then
 * one probe goes out, and its success closes the breaker while its failure doubles the pause.
 * Limits come from `destinationOverrides` for the domain, else from the defaults.
 */
export class DestinationShaper {
  private readonly states = new Map<string, State>();
  /** Delivery processes sharing each destination's connection limit (cluster mode). */
  private peers = 1;

  /**
   * @param sharedRate true when a `SharedRateLimiter` enforces `messagesPerSecond` across
   *   processes; this shaper then leaves the rate to it and keeps only connections and the breaker.
   */
  constructor(
    private config: ShaperConfig,
    private readonly now: () => number = Date.now,
    private readonly sharedRate = false,
  ) {}

  /** How many delivery processes share each destination's connections (this one included). */
  setPeers(peers: number): void {
    this.peers = Math.max(1, Math.floor(peers));
  }

  /** Takes new limits (live reconfiguration); states in progress keep their counts. */
  reconfigure(config: ShaperConfig): void {
    this.config = config;
  }

  shapeOf(destination: string): DestinationShape {
    const override: DestinationOverride = this.config.destinationOverrides[destination] ?? {};
    // In a cluster each delivery process takes its share of the destination's connections.
    const maxConnections = Math.max(1, Math.floor((override.maxConnections ?? this.config.destinationMaxConnections) / this.peers));
    return {
      maxConnections,
      maxMessagesPerConnection: override.maxMessagesPerConnection ?? this.config.destinationMaxMessagesPerConnection,
      messagesPerSecond: override.messagesPerSecond ?? this.config.destinationMessagesPerSecond,
      // Never the whole worker: a destination that hangs on to its messages leaves a quarter of the
      // slots to the others.
      maxInFlight: Math.max(1, Math.min(maxConnections * IN_FLIGHT_PER_CONNECTION, Math.floor((this.config.deliveryConcurrency * 3) / 4))),
    };
  }

  /**
   * How many of the destination's messages may start now; when none may, the time to ask again
   * (null when only a finishing message can free room).
   */
  room(destination: string): { room: number; retryAt: number | null } {
    const now = this.now();
    const shape = this.shapeOf(destination);
    const state = this.states.get(destination);
    if (state === undefined) return { room: this.sharedRate ? shape.maxInFlight : Math.min(shape.maxInFlight, burst(shape)), retryAt: null };
    if (state.pausedUntil > now) return { room: 0, retryAt: state.pausedUntil };
    let room = shape.maxInFlight - state.inFlight;
    if (state.probing || state.pausedUntil > 0) room = state.inFlight === 0 ? 1 : 0;
    if (room <= 0) return { room: 0, retryAt: null };
    if (shape.messagesPerSecond > 0 && !this.sharedRate) {
      this.refill(state, shape, now);
      const whole = Math.floor(state.tokens);
      if (whole <= 0) return { room: 0, retryAt: now + Math.ceil(((1 - state.tokens) * 1000) / shape.messagesPerSecond) };
      room = Math.min(room, whole);
    }
    return { room, retryAt: null };
  }

  /** Records that `count` of the destination's messages started. */
  started(destination: string, count: number): void {
    if (count <= 0) return;
    const state = this.stateOf(destination);
    state.inFlight += count;
    const shape = this.shapeOf(destination);
    if (shape.messagesPerSecond > 0) {
      this.refill(state, shape, this.now());
      state.tokens -= count;
    }
    if (state.pausedUntil > 0) state.probing = true;
  }

  /**
   * Records how one of the destination's messages ended. Returns the pause, when this ending
   * opened the breaker, so the caller can say so in its log.
   */
  finished(destination: string, health: AttemptHealth): PausedDestination | null {
    const state = this.states.get(destination);
    if (state === undefined) return null;
    state.inFlight = Math.max(0, state.inFlight - 1);
    let opened: PausedDestination | null = null;
    if (health === 'answered') {
      state.failures = 0;
      state.pausedUntil = 0;
      state.pauseMs = 0;
      state.probing = false;
    } else if (health === 'session-failure') {
      state.failures++;
      const threshold = this.config.destinationBreakerFailures;
      if (threshold > 0 && (state.probing || (state.failures >= threshold && state.pausedUntil === 0))) {
        const base = this.config.destinationBreakerPauseMs;
        state.pauseMs = state.probing ? Math.min(state.pauseMs * 2, base * MAX_PAUSE_FACTOR) : base;
        state.pausedUntil = this.now() + state.pauseMs;
        state.probing = false;
        opened = { destination, until: state.pausedUntil, failures: state.failures };
      }
    } else if (state.probing && state.inFlight === 0) {
      // The probe never reached the network: the next message probes instead.
      state.probing = false;
    }
    this.forgetIfIdle(destination, state);
    return opened;
  }

  /** Destinations whose breaker is open now. */
  paused(): PausedDestination[] {
    const now = this.now();
    const out: PausedDestination[] = [];
    for (const [destination, state] of this.states) {
      if (state.pausedUntil > now) out.push({ destination, until: state.pausedUntil, failures: state.failures });
    }
    return out;
  }

  /** Messages in progress for the destination. */
  inFlight(destination: string): number {
    return this.states.get(destination)?.inFlight ?? 0;
  }

  private stateOf(destination: string): State {
    let state = this.states.get(destination);
    if (state === undefined) {
      const shape = this.shapeOf(destination);
      state = { inFlight: 0, tokens: burst(shape), refilledAt: this.now(), failures: 0, pausedUntil: 0, pauseMs: 0, probing: false };
      this.states.set(destination, state);
    }
    return state;
  }

  private refill(state: State, shape: DestinationShape, now: number): void {
    state.tokens = Math.min(burst(shape), state.tokens + ((now - state.refilledAt) * shape.messagesPerSecond) / 1000);
    state.refilledAt = now;
  }

  /** A destination with nothing in progress, no failures and a full bucket needs no state: a fresh one is the same. */
  private forgetIfIdle(destination: string, state: State): void {
    if (state.inFlight > 0 || state.failures > 0 || state.pausedUntil > 0) return;
    const shape = this.shapeOf(destination);
    if (shape.messagesPerSecond > 0) {
      this.refill(state, shape, this.now());
      if (state.tokens < burst(shape)) return;
    }
    this.states.delete(destination);
  }
}

/** One second's worth of tokens, at least one. */
function burst(shape: DestinationShape): number {
  return shape.messagesPerSecond > 0 ? Math.max(1, shape.messagesPerSecond) : Number.POSITIVE_INFINITY;
}
