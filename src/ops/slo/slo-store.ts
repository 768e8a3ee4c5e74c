/** Alerts are pages (wake someone) or tickets (look at it in working hours): SRE workbook ch. 5. */
export type AlertSeverity = 'page' | 'ticket';

/** Counts to add to one SLO's bucket; `total` may be negative (see the recorder's time-to-deliver). */
export interface SloCount {
  slo: string;
  /** Epoch ms at which the bucket starts (a multiple of BUCKET_MS). */
  bucket: number;
  good: number;
  total: number;
}

export interface SloSums {
  good: number;
  total: number;
}

/** An alert that is firing, as every process of a cluster sees it. */
export interface SloAlertRecord {
  slo: string;
  severity: AlertSeverity;
  /** Epoch ms it started firing. */
  since: number;
  /** Which windows fired it, e.g. `burn rate 15.2 over 1h and 16.0 over 5m (threshold 14.4)`. */
  reason: string;
}

/**
 * The SLO store port: good and total counts per SLO in time buckets, shared by every process on the
 * store (each adds to the same buckets), and the alerts that are firing. Counts survive restarts,
 * so windows of up to 30 days hold across them.
 */
export interface SloStore {
  /** Adds each count to its bucket, creating the bucket when missing; one batch, all or nothing. */
  add(counts: readonly SloCount[]): Promise<void>;
  /**
   * Sums of one SLO's buckets that start in [froms[i], until), for each i (one pass over the
   * longest window).
   */
  sums(slo: string, froms: readonly number[], until: number): Promise<SloSums[]>;
  /** Drops buckets that start before `before`; returns how many. */
  prune(before: number): Promise<number>;
  /** The alerts firing now. */
  alerts(): Promise<SloAlertRecord[]>;
  /** Records an alert as firing unless it already is; true when this call started it (one process of a cluster wins). */
  openAlert(alert: SloAlertRecord): Promise<boolean>;
  /** Ends a firing alert; returns it when this call ended it, null when it was not firing. */
  closeAlert(slo: string, severity: AlertSeverity): Promise<SloAlertRecord | null>;
}
