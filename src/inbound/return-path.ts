import type { SigningKeys } from '../ops/signing-keys.js';

/** Local part before the `+` of every return path (`bounces+<token>@<returnPathDomain>`). */
export const RETURN_PATH_LOCAL_PART = 'bounces';

/** Longest local part RFC 5321 §4.5.3.1.1 allows, octets. */
const MAX_LOCAL_PART = 64;
const VERSION = 1;
/** HMAC bytes in a token: 96 bits, past RFC 2104 §5's 80-bit floor; a guess has to be made online. */
const MAC_BYTES = 12;
/** Bytes of a 22-character base62 id (62^22 < 2^136). */
const ID_BYTES = 17;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** RFC 4648 §6 base32, written in lower case: some MTAs lower-case local parts, and base32 survives it. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const MESSAGE_ID = /^([0-9A-Za-z]{22})\.(\d{1,7})$/;

/** What an address at the return-path domain (or elsewhere) is to the inbound receiver. */
export type ReturnPathAddress =
  /** Another domain: Herald is not its MX and relays nothing. */
  | { kind: 'foreign' }
  /** A plain mailbox at the return-path domain (`postmaster`, `abuse`, `bounces`). */
  | { kind: 'mailbox'; localPart: string }
  /** A return path Herald made for this message. */
  | { kind: 'token'; messageId: string }
  /** Looks like a return path but its token does not decode or its HMAC does not match. */
  | { kind: 'forged' };

/**
 * VERP return paths (the envelope sender of each delivery names its message, so a bounce sent to it
 * says which message failed without parsing its text). The token holds the message id in binary
 * and a truncated HMAC-SHA256 under the `return-path` signing key, base32 encoded. It holds no
 * account id: with one, the local part would pass RFC 5321's 64 octets; the message id is unique
 * across accounts, and the receiver reads the account from the message.
 */
export class ReturnPaths {
  readonly domain: string;

  constructor(
    private readonly signing: SigningKeys,
    domain: string,
  ) {
    this.domain = domain.toLowerCase();
  }

  /** `bounces+<token>@<domain>` for the message; null for an id not of Herald's shape (sent with the From address). */
  addressFor(messageId: string): string | null {
    const payload = encodeMessageId(messageId);
    if (payload === null) return null;
    const mac = this.signing.sign('return-path', payload, MAC_BYTES);
    const local = `${RETURN_PATH_LOCAL_PART}+${base32(Buffer.concat([payload, mac]))}`;
    return local.length <= MAX_LOCAL_PART ? `${local}@${this.domain}` : null;
  }

  /** Reads an envelope recipient: whose return path it is, if any. Case-insensitive throughout. */
  parse(address: string): ReturnPathAddress {
    const at = address.lastIndexOf('@');
    if (at <= 0) return { kind: 'foreign' };
    if (address.slice(at + 1).toLowerCase().replace(/\.$/, '') !== this.domain) return { kind: 'foreign' };
    const local = address.slice(0, at).toLowerCase();
    const prefix = `${RETURN_PATH_LOCAL_PART}+`;
    if (!local.startsWith(prefix)) return { kind: 'mailbox', localPart: local };
    const bytes = unbase32(local.slice(prefix.length));
    if (bytes === null || bytes.length < 1 + ID_BYTES + 1 + MAC_BYTES) return { kind: 'forged' };
    const payload = bytes.subarray(0, bytes.length - MAC_BYTES);
    const mac = bytes.subarray(bytes.length - MAC_BYTES);
    if (!this.signing.verify('return-path', payload, mac)) return { kind: 'forged' };
    const messageId = decodeMessageId(payload);
    return messageId === null ? { kind: 'forged' } : { kind: 'token', messageId };
  }
}

/** `<22 base62>.<n>` → version, the id as 17 bytes, n as a LEB128 varint. */
function encodeMessageId(messageId: string): Buffer | null {
  const m = MESSAGE_ID.exec(messageId);
  if (!m) return null;
  let n = 0n;
  for (const c of m[1]!) n = n * 62n + BigInt(BASE62.indexOf(c));
  const id = Buffer.alloc(ID_BYTES);
  for (let i = ID_BYTES - 1; i >= 0; i--) {
    id[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  const index: number[] = [];
  let k = Number(m[2]);
  do {
    index.push((k & 0x7f) | (k >= 0x80 ? 0x80 : 0));
    k = Math.floor(k / 0x80);
  } while (k > 0);
  return Buffer.concat([Buffer.from([VERSION]), id, Buffer.from(index)]);
}

function decodeMessageId(payload: Buffer): string | null {
  if (payload[0] !== VERSION) return null;
  let n = 0n;
  for (const byte of payload.subarray(1, 1 + ID_BYTES)) n = (n << 8n) | BigInt(byte);
  if (n >= 62n ** 22n) return null;
  let id = '';
  for (let i = 0; i < 22; i++) {
    id = BASE62[Number(n % 62n)]! + id;
    n /= 62n;
  }
  let index = 0;
  let shift = 1;
  const rest = payload.subarray(1 + ID_BYTES);
  for (let i = 0; i < rest.length; i++) {
    index += (rest[i]! & 0x7f) * shift;
    shift *= 0x80;
    if ((rest[i]! & 0x80) === 0) return i === rest.length - 1 && index < 10_000_000 ? `${id}.${index}` : null;
  }
  return null;
}

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Buffer | null {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text) {
    const v = BASE32.indexOf(c);
    if (v < 0) return null;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  // Only the canonical spelling: leftover bits must be zero, so one token has one form.
  if (value !== 0 || bits >= 5) return null;
  return Buffer.from(out);
}
