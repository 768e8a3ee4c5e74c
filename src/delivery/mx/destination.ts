/** One SMTP server to try for a destination, with the addresses to connect to, in order. */
export interface MxHost {
  /** The MX exchange (or the domain itself for an implicit MX, or the override's host). */
  exchange: string;
  /** MX preference: lower is tried first (RFC 5321 §5.1). */
  priority: number;
  /** IP addresses of the exchange, the preferred family first. */
  addresses: string[];
  /** SMTP port: `smtpPort` (25), or the override's. */
  port: number;
}

/**
 * Where mail for a domain goes, or why it goes nowhere. The two refusals are permanent and carry
 * the enhanced status (RFC 3463) a bounce should report; a transient failure is not a destination
 * but a thrown `DeliveryError` without a reply code, which `classifyFailure` defers.
 */
export type Destination =
  | {
      kind: 'hosts';
      /** At most `maxHosts`, by preference; equal preferences in random order (RFC 5321 §5.1). */
      hosts: MxHost[];
      /** Epoch ms after which the answer must be looked up again. */
      expiresAt: number;
    }
  | {
      /** RFC 7505: the domain publishes a single MX `.`: it takes no mail. Bounce 5.1.10 (§4.2). */
      kind: 'null-mx';
      status: '5.1.10';
      reason: string;
      expiresAt: number;
    }
  | {
      /**
       * 5.1.2: the domain does not exist (NXDOMAIN) or is not a domain name. 5.4.4: it exists but
       * DNS names no host that could take its mail (RFC 5321 §5.1: report it as an error).
       */
      kind: 'no-domain';
      status: '5.1.2' | '5.4.4';
      reason: string;
      expiresAt: number;
    };

/**
 * RFC 5321 §5.1: hosts of equal preference are tried in random order, spreading the load across
 * an organization's exchangers. Returns a copy; the order of distinct preferences is kept.
 */
export function shuffleEqualPriorities<T extends { priority: number }>(items: readonly T[]): T[] {
  const sorted = [...items].sort((a, b) => a.priority - b.priority);
  let start = 0;
  while (start < sorted.length) {
    let end = start + 1;
    while (end < sorted.length && sorted[end]!.priority === sorted[start]!.priority) end++;
    // Fisher–Yates within [start, end).
    for (let i = end - 1; i > start; i--) {
      const j = start + Math.floor(Math.random() * (i - start + 1));
      [sorted[i], sorted[j]] = [sorted[j]!, sorted[i]!];
    }
    start = end;
  }
  return sorted;
}
