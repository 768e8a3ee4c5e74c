/**
 * A per-destination token bucket shared by every delivery process of a cluster, so that
 * `messagesPerSecond` holds for the destination as a whole, however many processes send to it.
 * The bucket holds one second of burst (at least one token) and refills at the rate.
 */
export interface SharedRateLimiter {
  /**
   * Takes up to `wanted` tokens from the destination's bucket at `ratePerSecond`; returns how many
   * it got (0 when the bucket is empty). Tokens taken and then not used are not given back.
   */
  take(destination: string, wanted: number, ratePerSecond: number, now?: number): Promise<number>;
}

/**
 * The delivery processes of a cluster, counted through a heartbeat in the shared store, so that
 * each takes its share of a destination's connection limit: with N live delivery processes, each
 * opens at most ⌊maxConnections / N⌋ (at least one) connections to a destination's host.
 */
export interface DeliveryPeers {
  /** Records that `id` is alive now and returns how many delivery processes are (itself included). */
  beat(id: string, ttlMs: number, now?: number): Promise<number>;
  /** Removes `id` at shutdown, so the others take its share at once instead of after the TTL. */
  leave(id: string): Promise<void>;
}
