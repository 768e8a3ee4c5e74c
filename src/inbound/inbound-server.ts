import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import type { HeraldConfig } from '../config/settings.js';
import type { ReportIntake } from './report-intake.js';
import type { HeraldMetrics } from '../ops/metrics.js';
import { RETURN_PATH_LOCAL_PART, type ReturnPaths } from './return-path.js';

/** Mailboxes at the return-path domain besides return paths: RFC 5321 §4.5.1 (postmaster), RFC 2142 (abuse). */
const MAILBOXES = new Set(['postmaster', 'abuse', RETURN_PATH_LOCAL_PART]);

export type InboundSettings = Pick<
  HeraldConfig,
  'inboundHost' | 'inboundMaxMessageBytes' | 'inboundMaxRecipients' | 'inboundMaxConnections' | 'inboundMaxConnectionsPerIp' | 'inboundSocketTimeoutMs' | 'hostname' | 'shutdownGraceMs'
>;

/** An SMTP reply carried by an error, as smtp-server sends it. */
function reply(code: number, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(text), { responseCode: code });
}

/**
 * The SMTP receiver of the return-path domain (the `inbound` role). It is that domain's MX and no
 * one else's: recipients at other domains are refused (no relaying), return paths whose HMAC does
 * not check are refused as unknown mailboxes, and what is accepted goes to the report intake.
 * Every limit is the operator's: size (advertised as SIZE, RFC 1870), recipients, connections in
 * all and per address, idle time. A store failure answers 451 so the sender retries later: a
 * report is never acknowledged and then lost.
 */
export class InboundServer {
  private readonly server: SMTPServer;
  private readonly perIp = new Map<string, number>();
  private readonly working = new Set<Promise<unknown>>();
  private listening = false;

  constructor(
    private readonly settings: InboundSettings,
    private readonly returnPaths: ReturnPaths,
    private readonly intake: ReportIntake,
    private readonly log: Logger,
    private readonly metrics: HeraldMetrics | null = null,
  ) {
    this.server = new SMTPServer({
      name: settings.hostname,
      banner: 'Herald bounce and complaint receiver',
      size: settings.inboundMaxMessageBytes,
      maxClients: settings.inboundMaxConnections,
      socketTimeout: settings.inboundSocketTimeoutMs,
      closeTimeout: Math.max(100, settings.shutdownGraceMs),
      // Mail for one domain from any MTA: no authentication. No certificate is configured, so no
      // STARTTLS (offering one with a made-up certificate would only look like security).
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      disableReverseLookup: true,
      // smtp-server would put its own enhanced code in front of every error by reply code alone
      // (550 is always 5.1.1); the replies below carry the right one in their text instead.
      hideENHANCEDSTATUSCODES: true,
      logger: false,
      onConnect: (session, callback) => this.onConnect(session, callback),
      onClose: (session) => this.onClose(session),
      onRcptTo: (address, session, callback) => callback(this.checkRecipient(address, session)),
      onData: (stream, session, callback) => this.onData(stream, session, callback),
    });
    // Peers that reset or vanish are routine on a public MX; anything else is worth a warning.
    this.server.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || error.code === 'ETIMEDOUT') this.log.debug({ err: error }, 'inbound peer went away');
      else this.log.warn({ err: error }, 'inbound SMTP error');
    });
  }

  /** Listens on `port` (0: any free port); resolves with the port taken. */
  async listen(port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.server.once('error', onError);
      this.server.listen(port, this.settings.inboundHost, () => {
        this.server.server.off('error', onError);
        resolve();
      });
    });
    this.listening = true;
    return (this.server.server.address() as AddressInfo).port;
  }

  /** Stops taking connections, lets reports being recorded finish, closes what is left. */
  async close(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.allSettled([...this.working]);
  }

  private count(outcome: InboundOutcome): void {
    this.metrics?.inboundMessages.inc({ outcome });
  }

  private onConnect(session: SMTPServerSession, callback: (err?: Error | null) => void): void {
    const ip = session.remoteAddress;
    const open = (this.perIp.get(ip) ?? 0) + 1;
    if (open > this.settings.inboundMaxConnectionsPerIp) {
      this.log.info({ ip }, 'inbound connection refused: too many from one address');
      return callback(reply(421, '4.7.0 too many connections from your address, try again later'));
    }
    this.perIp.set(ip, open);
    (session as SessionMark).counted = true;
    callback();
  }

  private onClose(session: SMTPServerSession): void {
    if (!(session as SessionMark).counted) return;
    const ip = session.remoteAddress;
    const open = (this.perIp.get(ip) ?? 1) - 1;
    if (open <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, open);
  }

  /** RFC 5321 §3.6.2: an MX that is not the destination refuses to relay. */
  private checkRecipient(address: SMTPServerAddress, session: SMTPServerSession): Error | undefined {
    if (session.envelope.rcptTo.length >= this.settings.inboundMaxRecipients) {
      return reply(452, '4.5.3 too many recipients'); // RFC 5321 §4.5.3.1.10
    }
    const parsed = this.returnPaths.parse(address.address);
    switch (parsed.kind) {
      case 'foreign':
        return reply(550, '5.7.1 relay access denied');
      case 'forged':
        this.log.info({ rcpt: address.address, ip: session.remoteAddress }, 'inbound recipient refused: return path does not verify');
        return reply(550, '5.1.1 no such mailbox');
      case 'mailbox':
        return MAILBOXES.has(parsed.localPart) ? undefined : reply(550, '5.1.1 no such mailbox');
      case 'token':
        return undefined;
    }
  }

  private onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let gone = false;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit the rest is read and dropped: the reply is 552 whatever it holds.
      if (size <= this.settings.inboundMaxMessageBytes) chunks.push(chunk);
    });
    // The client went away before the final dot: nothing of a partial message is recorded.
    stream.on('error', (error) => {
      gone = true;
      this.count('abandoned');
      this.log.info({ ip: session.remoteAddress, err: error }, 'inbound message abandoned mid-DATA');
    });
    stream.on('end', () => {
      if (gone) return;
      if (stream.sizeExceeded || size > this.settings.inboundMaxMessageBytes) {
        this.log.info({ ip: session.remoteAddress, bytes: size }, 'inbound message refused: too large');
        this.count('too_large');
        return callback(reply(552, `5.3.4 message exceeds the fixed maximum message size of ${this.settings.inboundMaxMessageBytes} bytes`));
      }
      const work = this.handle(Buffer.concat(chunks), session).then(
        (message) => callback(null, message),
        (error: Error) => callback(error),
      );
      this.working.add(work);
      void work.finally(() => this.working.delete(work));
    });
  }

  private async handle(raw: Buffer, session: SMTPServerSession): Promise<string> {
    const to = session.envelope.rcptTo.map((r) => r.address);
    const log = this.log.child({ ip: session.remoteAddress, rcpt: to });
    try {
      const outcome = await this.intake.take(raw, { to, peer: session.hostNameAppearsAs || session.remoteAddress });
      switch (outcome.kind) {
        case 'recorded':
          this.count(outcome.fresh.length > 0 ? 'recorded' : 'duplicate');
          log.info({ events: outcome.events.map((e) => ({ type: e.type, messageId: e.messageId })), fresh: outcome.fresh.length }, 'inbound report recorded');
          return '2.0.0 report recorded';
        case 'ignored':
          this.count('ignored');
          log.info({ why: outcome.why }, 'inbound message accepted and ignored');
          return '2.0.0 accepted';
        case 'malformed':
          this.count('malformed');
          log.info({ why: outcome.why }, 'inbound report refused: malformed');
          throw reply(554, `5.6.0 malformed report: ${outcome.why}`);
      }
    } catch (error) {
      if ((error as { responseCode?: number }).responseCode) throw error;
      this.count('failed');
      log.error({ err: error }, 'could not record an inbound report; the sender will retry');
      throw reply(451, '4.3.0 temporary failure recording the report, try again later');
    }
  }
}

export type InboundOutcome = 'recorded' | 'duplicate' | 'ignored' | 'malformed' | 'too_large' | 'failed' | 'abandoned';

type SessionMark = SMTPServerSession & { counted?: boolean };
