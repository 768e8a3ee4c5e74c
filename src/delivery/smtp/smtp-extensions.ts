import type { SmtpReply } from './smtp-reply-reader.js';

/** What a server said it supports in its EHLO reply (RFC 5321 §4.1.1.1); all off after HELO. */
export interface SmtpExtensions {
  /** RFC 2920: commands may be sent in groups. */
  pipelining: boolean;
  /** RFC 1870: null when not offered, 0 when offered without a limit, else the limit in bytes. */
  size: number | null;
  /** RFC 6152: BODY=8BITMIME. */
  eightBitMime: boolean;
  /** RFC 6531: UTF-8 addresses. */
  smtpUtf8: boolean;
  /** RFC 3207. */
  startTls: boolean;
  /** RFC 4954: the SASL mechanisms offered, upper case. */
  auth: string[];
  /** RFC 2034: replies carry RFC 3463 status codes. */
  enhancedStatusCodes: boolean;
}

export const NO_EXTENSIONS: SmtpExtensions = Object.freeze({
  pipelining: false,
  size: null,
  eightBitMime: false,
  smtpUtf8: false,
  startTls: false,
  auth: Object.freeze([]) as unknown as string[],
  enhancedStatusCodes: false,
});

/** Reads the keywords of an EHLO reply; its first line is the greeting, not an extension. */
export function parseExtensions(reply: SmtpReply): SmtpExtensions {
  const ext: SmtpExtensions = { ...NO_EXTENSIONS, auth: [] };
  for (const line of reply.lines.slice(1)) {
    const [keyword = '', ...params] = line.trim().split(/\s+/);
    switch (keyword.toUpperCase()) {
      case 'PIPELINING':
        ext.pipelining = true;
        break;
      case 'SIZE': {
        const limit = Number(params[0] ?? '0');
        ext.size = Number.isSafeInteger(limit) && limit > 0 ? limit : 0;
        break;
      }
      case '8BITMIME':
        ext.eightBitMime = true;
        break;
      case 'SMTPUTF8':
        ext.smtpUtf8 = true;
        break;
      case 'STARTTLS':
        ext.startTls = true;
        break;
      case 'ENHANCEDSTATUSCODES':
        ext.enhancedStatusCodes = true;
        break;
      case 'AUTH':
        addMechanisms(ext.auth, params);
        break;
      default:
        // Pre-RFC 2554 servers announce "AUTH=LOGIN PLAIN"; some only that way.
        if (/^AUTH=/i.test(keyword)) addMechanisms(ext.auth, [keyword.slice(5), ...params]);
    }
  }
  return ext;
}

function addMechanisms(into: string[], names: string[]): void {
  for (const name of names) {
    const upper = name.toUpperCase();
    if (upper.length > 0 && !into.includes(upper)) into.push(upper);
  }
}
