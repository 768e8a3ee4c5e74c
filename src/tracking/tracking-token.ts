import type { SigningKeys } from '../ops/signing-keys.js';

/** What a token lets its bearer do: count an open, follow a link, or unsubscribe. */
export type TokenKind = 'open' | 'click' | 'unsubscribe';

interface TokenBase {
  accountId: string;
  messageId: string;
  /** Epoch seconds when the message was composed. */
  issuedAt: number;
}
export interface OpenToken extends TokenBase {
  kind: 'open';
}
export interface ClickToken extends TokenBase {
  kind: 'click';
  /** The link's place in its part (0-based), SendGrid's `url_offset`. */
  index: number;
  part: 'html' | 'text';
  /** The link exactly as it was in the message: the only place the redirect may go. */
  url: string;
}
export interface UnsubscribeToken extends TokenBase {
  kind: 'unsubscribe';
}
export type TrackingToken = OpenToken | ClickToken | UnsubscribeToken;

/** Why a token was refused. None of them ever leads anywhere. */
export type TokenProblem = 'malformed' | 'forged' | 'expired' | 'wrong-kind';

/** Longest link rewritten; a longer one is left as it is (a token holds the whole link). */
export const MAX_TRACKED_URL_BYTES = 2048;
/** Bytes of the HMAC kept: 128 bits, well above the 80 RFC 2104 §5 asks for. */
const MAC_BYTES = 16;
const VERSION = 1;
const KINDS: readonly TokenKind[] = ['open', 'click', 'unsubscribe'];
/** Longest token accepted before any work is done on it (characters of base64url). */
const MAX_TOKEN_CHARS = Math.ceil(((MAX_TRACKED_URL_BYTES + 600) * 4) / 3);

/**
 * Encodes a token: version, kind, issue time, account, message (and for a click the link's place and
 * the link itself), then a truncated HMAC-SHA256 under the `tracking` key over all of it, as
 * base64url (RFC 4648 §5). Nothing is stored per link: the token is the record, and changing any
 * byte of it (the URL included) breaks the MAC.
 */
export function encodeToken(keys: SigningKeys, token: TrackingToken): string {
  const account = Buffer.from(token.accountId, 'utf8');
  const message = Buffer.from(token.messageId, 'utf8');
  if (account.length > 255 || message.length > 255) throw new Error('account or message id too long for a tracking token');
  const head = Buffer.alloc(6);
  head[0] = VERSION;
  head[1] = KINDS.indexOf(token.kind);
  head.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(token.issuedAt))), 2);
  const parts: Buffer[] = [head, Buffer.from([account.length]), account, Buffer.from([message.length]), message];
  if (token.kind === 'click') {
    const link = Buffer.alloc(3);
    link[0] = token.part === 'html' ? 0 : 1;
    link.writeUInt16BE(token.index, 1);
    parts.push(link, Buffer.from(token.url, 'utf8'));
  }
  const payload = Buffer.concat(parts);
  return Buffer.concat([payload, keys.sign('tracking', payload, MAC_BYTES)]).toString('base64url');
}

/**
 * Checks and decodes a token of `kind`. The MAC is checked before anything in the payload is
 * trusted; then the age: a token older than `maxAgeS` is refused (so is one issued in the future,
 * past a day of clock skew).
 */
export function decodeToken(keys: SigningKeys, text: string, kind: TokenKind, maxAgeS: number, nowMs: number): TrackingToken | TokenProblem {
  if (text.length < 10 || text.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) return 'malformed';
  const bytes = Buffer.from(text, 'base64url');
  // Re-encoding must give the same text: no trailing bits or characters the decoder skipped.
  if (bytes.toString('base64url') !== text || bytes.length < 6 + 2 + MAC_BYTES) return 'malformed';
  const payload = bytes.subarray(0, bytes.length - MAC_BYTES);
  if (!keys.verify('tracking', payload, bytes.subarray(bytes.length - MAC_BYTES))) return 'forged';
  if (payload[0] !== VERSION) return 'malformed';
  const found = KINDS[payload[1]!];
  if (found === undefined) return 'malformed';
  if (found !== kind) return 'wrong-kind';
  const issuedAt = payload.readUInt32BE(2);
  let at = 6;
  const accountLength = payload[at++]!;
  const accountId = payload.toString('utf8', at, (at += accountLength));
  const messageLength = payload[at++];
  if (messageLength === undefined || at + messageLength > payload.length) return 'malformed';
  const messageId = payload.toString('utf8', at, (at += messageLength));
  const now = nowMs / 1000;
  if (issuedAt + maxAgeS < now || issuedAt > now + 24 * 3600) return 'expired';
  if (found !== 'click') {
    if (at !== payload.length) return 'malformed';
    return { kind: found, accountId, messageId, issuedAt };
  }
  if (at + 3 > payload.length) return 'malformed';
  const part = payload[at] === 0 ? 'html' : payload[at] === 1 ? 'text' : null;
  if (part === null) return 'malformed';
  const index = payload.readUInt16BE(at + 1);
  const url = payload.toString('utf8', at + 3);
  if (!/^https?:\/\//i.test(url)) return 'malformed';
  return { kind: 'click', accountId, messageId, issuedAt, part, index, url };
}
