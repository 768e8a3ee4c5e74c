import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { DkimSigningKey } from './domain-store.js';

/**
 * Headers signed when present (RFC 6376 §5.4.1), each as many times as it occurs. Those in
 * OVERSIGNED are listed once more than they occur, so that a copy added later (a second From, a
 * Subject, a Cc) breaks the signature instead of passing under it (RFC 6376 §8.15); From always.
 */
const SIGNED = [
  'from', 'sender', 'reply-to', 'subject', 'date', 'message-id', 'to', 'cc', 'mime-version', 'content-type',
  'content-transfer-encoding', 'in-reply-to', 'references', 'list-id', 'list-unsubscribe', 'list-unsubscribe-post',
  'feedback-id',
];
const OVERSIGNED = new Set(['from', 'reply-to', 'subject', 'date', 'message-id', 'to', 'cc', 'list-unsubscribe', 'list-unsubscribe-post']);

/** A DNS name as d= and s= carry it: anything else would let a value close the tag and add its own. */
const DNS_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

/** Parsed keys by PEM: parsing costs more than an Ed25519 signature. Bounded; cleared when full. */
const parsedKeys = new Map<string, KeyObject>();
const MAX_PARSED_KEYS = 1000;

function privateKey(pem: string): KeyObject {
  let key = parsedKeys.get(pem);
  if (!key) {
    key = createPrivateKey(pem);
    if (parsedKeys.size >= MAX_PARSED_KEYS) parsedKeys.clear();
    parsedKeys.set(pem, key);
  }
  return key;
}

interface HeaderField {
  /** Lowercase. */
  name: string;
  /** The whole field, folded lines and all, without the final line break (latin1: byte for byte). */
  raw: string;
}

/**
 * Adds one DKIM-Signature per key (RFC 6376, relaxed/relaxed, SHA-256; Ed25519 per RFC 8463) to a
 * whole message, on top. The message is taken as it will be sent, before SMTP dot-stuffing; bare
 * LF line ends are read as CRLF, which is what they become on the wire. No keys: the message as is.
 */
export function signMessage(raw: Buffer, keys: readonly DkimSigningKey[], now = Date.now()): Buffer {
  if (keys.length === 0) return raw;
  const text = raw.toString('latin1');
  const { fields, body } = split(text);
  const eol = /\r\n/.test(text.slice(0, 2000)) || !text.includes('\n') ? '\r\n' : '\n';
  const bodyHash = createHash('sha256').update(relaxedBody(body), 'latin1').digest('base64');
  const names = signedNames(fields);
  const signedHeaders = selectHeaders(fields, names).map((f) => relaxedHeader(f.raw) + '\r\n').join('');
  const signatures = keys.map((key) => {
    if (!DNS_NAME.test(key.domain) || !DNS_NAME.test(key.selector)) throw new Error(`DKIM: "${key.domain}" / "${key.selector}" is not a DNS name`);
    const tags = [
      `v=1; a=${key.algorithm}; c=relaxed/relaxed; d=${key.domain}; s=${key.selector};`,
      `t=${Math.floor(now / 1000)}; bh=${bodyHash};`,
      `h=${names.join(':')};`,
      'b=',
    ];
    const unsigned = `DKIM-Signature: ${tags.join(`${eol}\t`)}`;
    // RFC 6376 §3.7: the signature's own header, b= empty and no final CRLF, is hashed last.
    const data = Buffer.from(signedHeaders + relaxedHeader(unsigned), 'latin1');
    const b =
      key.algorithm === 'rsa-sha256'
        ? sign('sha256', data, privateKey(key.privateKeyPem))
        : // RFC 8463 §3: Ed25519 (pure) over the SHA-256 of the canonical header data.
          sign(null, createHash('sha256').update(data).digest(), privateKey(key.privateKeyPem));
    return unsigned + fold(b.toString('base64'), eol) + eol;
  });
  return Buffer.concat([Buffer.from(signatures.join(''), 'latin1'), raw]);
}

/** Header fields in order, and the body after the first empty line ('' when there is none). */
function split(text: string): { fields: HeaderField[]; body: string } {
  const match = /\r?\n\r?\n/.exec(text);
  const head = match ? text.slice(0, match.index) : text;
  const body = match ? text.slice(match.index + match[0].length) : '';
  const fields: HeaderField[] = [];
  for (const line of head.split(/\r?\n/)) {
    const last = fields[fields.length - 1];
    if (/^[ \t]/.test(line) && last) last.raw += '\r\n' + line;
    else if (line.includes(':')) fields.push({ name: line.slice(0, line.indexOf(':')).trim().toLowerCase(), raw: line });
  }
  return { fields, body };
}

function signedNames(fields: HeaderField[]): string[] {
  const names: string[] = [];
  for (const name of SIGNED) {
    const count = fields.filter((f) => f.name === name).length;
    const times = name === 'from' || (count > 0 && OVERSIGNED.has(name)) ? count + 1 : count;
    for (let i = 0; i < times; i++) names.push(name);
  }
  return names;
}

/** RFC 6376 §5.4.2: the n-th listing of a name takes its n-th occurrence from the bottom; past the last, nothing. */
function selectHeaders(fields: HeaderField[], names: string[]): HeaderField[] {
  const used = new Map<string, number>();
  const out: HeaderField[] = [];
  for (const name of names) {
    const n = used.get(name) ?? 0;
    used.set(name, n + 1);
    const instances = fields.filter((f) => f.name === name);
    const field = instances[instances.length - 1 - n];
    if (field) out.push(field);
  }
  return out;
}

/** RFC 6376 §3.4.2: lowercase name, unfolded, runs of WSP to one SP, none around the colon or at the end. */
function relaxedHeader(raw: string): string {
  const colon = raw.indexOf(':');
  const name = raw.slice(0, colon).replace(/[ \t]+$/, '').toLowerCase();
  const value = raw.slice(colon + 1).replace(/\r?\n/g, '').replace(/[ \t]+/g, ' ').trim();
  return `${name}:${value}`;
}

/**
 * RFC 6376 §3.4.4: runs of WSP to one SP, none at line ends, empty lines at the end dropped, and a
 * non-empty body ends with CRLF; an empty body stays empty (§3.4.4 and erratum 1384).
 */
function relaxedBody(body: string): string {
  const lines = body.split(/\r?\n/).map((line) => line.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.length === 0 ? '' : lines.join('\r\n') + '\r\n';
}

/** The base64 signature in lines of 72, continuation lines indented (FWS inside b= is ignored). */
function fold(b64: string, eol: string): string {
  const chunks = b64.match(/.{1,72}/g) ?? [''];
  return chunks.join(`${eol}\t`);
}
