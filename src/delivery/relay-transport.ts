import { createTransport, type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { HeraldConfig } from '../config/settings.js';
import { DeliveryError } from './delivery-error.js';
import type { OutgoingMessage, SendResult, Transport } from './transport.js';

/**
 * Delivers through a smarthost with nodemailer's pooled SMTP client: connections are reused,
 * STARTTLS is used whenever the server offers it, AUTH when the URL carries credentials.
 */
export class RelayTransport implements Transport {
  readonly name = 'relay';
  private readonly pool: Transporter<SMTPPool.SentMessageInfo>;
  private readonly host: string;

  constructor(config: HeraldConfig) {
    const url = new URL(config.smtpRelay!);
    this.host = url.hostname;
    const options: SMTPPool.Options = {
      pool: true,
      host: url.hostname,
      port: url.port ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 587,
      secure: url.protocol === 'smtps:',
      maxConnections: config.smtpPoolSize,
      maxMessages: Infinity,
      name: config.hostname,
      connectionTimeout: config.smtpConnectTimeoutMs,
      greetingTimeout: config.smtpGreetingTimeoutMs,
      socketTimeout: config.smtpSocketTimeoutMs,
      tls: { rejectUnauthorized: config.smtpRelayTlsVerify },
      logger: false,
    };
    if (url.username) {
      options.auth = { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
    }
    this.pool = createTransport(options);
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    try {
      const info = await this.pool.sendMail({
        envelope: { from: message.envelope.from, to: [message.envelope.to] },
        raw: message.raw,
      });
      // A relay may take some recipients and refuse others: with one recipient a refusal is the answer.
      if (info.rejected.length > 0) {
        const reply = info.rejectedErrors?.[0];
        throw new DeliveryError(`recipient refused: ${reply?.response ?? info.response}`, {
          replyCode: (reply as { responseCode?: number } | undefined)?.responseCode ?? 550,
          response: reply?.response ?? info.response,
          command: 'RCPT TO',
          mxServer: this.host,
        });
      }
      return { response: info.response, mxServer: this.host };
    } catch (error) {
      if (error instanceof DeliveryError) throw error;
      throw toDeliveryError(error, this.host);
    }
  }

  /** Called after the worker's grace period: deliveries still stalled then are abandoned. */
  async close(): Promise<void> {
    (this.pool as unknown as { close(options?: { force?: boolean }): void }).close({ force: true });
  }
}

interface NodemailerError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

function toDeliveryError(error: unknown, host: string): DeliveryError {
  const e = error as NodemailerError;
  const replyCode = typeof e.responseCode === 'number' ? e.responseCode : null;
  const response = e.response ?? `${e.code ?? 'ERROR'} ${e.message}`;
  return new DeliveryError(e.message, { replyCode, response, command: e.command ?? null, mxServer: host, cause: error });
}
