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
