const SECOND = 1000; // ms
const MINUTE = 60 * SECOND;

/** How long the client waits at each step of a session, ms. A step that runs out destroys the connection. */
export interface SmtpTimeouts {
  /** TCP connect, and the TLS handshake (implicit TLS or after STARTTLS). @defaultValue 30 s */
  connect: number;
  /** The 220 greeting (RFC 5321 §4.5.3.2.1). @defaultValue 5 min */
  greeting: number;
  /** EHLO, HELO, STARTTLS, AUTH, RSET and other commands outside a transaction. @defaultValue 5 min */
  command: number;
  /** The reply to MAIL FROM (§4.5.3.2.2). @defaultValue 5 min */
  mail: number;
  /** The reply to each RCPT TO (§4.5.3.2.3). @defaultValue 5 min */
  rcpt: number;
  /** The 354 to DATA (§4.5.3.2.4). @defaultValue 2 min */
  dataInit: number;
  /** Each block of message data to be taken by the server (§4.5.3.2.5). @defaultValue 3 min */
  dataBlock: number;
  /** The reply to the final dot (§4.5.3.2.6). @defaultValue 10 min */
  dataEnd: number;
  /** The reply to QUIT before the socket is simply closed. @defaultValue 5 s */
  quit: number;
}

/** RFC 5321 §4.5.3.2's minimums: the server may be slow, not the client impatient. */
export const DEFAULT_TIMEOUTS: Readonly<SmtpTimeouts> = Object.freeze({
  connect: 30 * SECOND,
  greeting: 5 * MINUTE,
  command: 5 * MINUTE,
  mail: 5 * MINUTE,
  rcpt: 5 * MINUTE,
  dataInit: 2 * MINUTE,
  dataBlock: 3 * MINUTE,
  dataEnd: 10 * MINUTE,
  quit: 5 * SECOND,
});

export function resolveTimeouts(given: Partial<SmtpTimeouts> | undefined): SmtpTimeouts {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...given };
  for (const [key, value] of Object.entries(timeouts)) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`SMTP timeout ${key} must be a positive number of ms, got ${value}`);
  }
  return timeouts;
}

/**
 * The timeouts Herald's settings ask for: connect and greeting as configured, and every wait for a
 * reply capped at `smtpSocketTimeoutMs`, under which the RFC 5321 §4.5.3.2 values hold.
 */
export function timeoutsFromSettings(settings: { smtpConnectTimeoutMs: number; smtpGreetingTimeoutMs: number; smtpSocketTimeoutMs: number }): Partial<SmtpTimeouts> {
  const cap = (ms: number): number => Math.min(ms, settings.smtpSocketTimeoutMs);
  return {
    connect: settings.smtpConnectTimeoutMs,
    greeting: settings.smtpGreetingTimeoutMs,
    command: cap(DEFAULT_TIMEOUTS.command),
    mail: cap(DEFAULT_TIMEOUTS.mail),
    rcpt: cap(DEFAULT_TIMEOUTS.rcpt),
    dataInit: cap(DEFAULT_TIMEOUTS.dataInit),
    dataBlock: cap(DEFAULT_TIMEOUTS.dataBlock),
    dataEnd: cap(DEFAULT_TIMEOUTS.dataEnd),
  };
}
