import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import * as base64 from 'nodemailer/lib/base64/index.js';
import * as qp from 'nodemailer/lib/qp/index.js';
import MimeNode from 'nodemailer/lib/mime-node/index.js';
import { foldLines } from 'nodemailer/lib/mime-funcs/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type { Address, MailRequest } from './mail-request.js';
import { renderTemplatePart, type TemplatePart } from './render-template.js';

export interface ComposeInput {
  request: MailRequest;
  personalizationIndex: number;
  messageId: string;
  /** Right-hand side of the Message-ID header. */
  hostname: string;
  /** Epoch ms written in the Date header: when the message was accepted. */
  date: number;
  /** Open, click and unsubscribe tracking for this message alone (src/tracking/tracker.ts). */
  tracking?: ComposeTracking | null;
}

/** Per-message changes tracking makes: rewritten bodies and added header fields. */
export interface ComposeTracking {
  /** The HTML body after substitutions and templates, rewritten. */
  html(body: string): string;
  /** The plain-text body, rewritten. */
  text(body: string): string;
  /** Header fields added unless the request sets a field of the same name itself. */
  headers: Record<string, string>;
}

/**
 * Builds the RFC 5322 message for one personalization with nodemailer's composer, which owns MIME
 * structure, encodings and line lengths. Every recipient of a personalization gets the same bytes;
 * Bcc recipients are never written into the headers.
 *
 * With a dynamic template, its parts are rendered against the personalization's
 * `dynamic_template_data` and replace the request's `content` of the same type (SendGrid); legacy
 * `substitutions` do not apply to them. The subject comes from the personalization, else the
 * request, else the template. A part that fails to render throws a TemplateRenderError.
 */
export async function composeMessage(input: ComposeInput): Promise<Buffer> {
  const p = input.request.personalizations[input.personalizationIndex];
  if (!p) throw new Error(`personalization ${input.personalizationIndex} missing from request`);
  if (input.tracking) {
    // Tracked content holds this message's own links: nothing is shared with other messages,
    // and untracked mail keeps the caches below to itself.
    const root = new MailComposer(mailOptions(input)).compile();
    return crlfOnly(buildSync(root) ?? (await root.build()));
  }
  const recipients = { to: p.to, cc: p.cc, messageId: messageIdOf(input) };
  // Alike within this request: keyed on the personalization's own fields, cheap to look up.
  const key = shareKey(input);
  let known: Map<string, SharedMessage | null> | undefined;
  if (key !== null) {
    known = shared.get(input.request);
    if (!known) shared.set(input.request, (known = new Map()));
    const hit = known.get(key);
    if (hit) return fromShared(hit, recipients);
  }
  const options = mailOptions(input);
  let raw: Buffer | null = null;
  let made: SharedMessage | null = null;
  // Alike across requests but for recipients, Subject and Date: keyed on everything else.
  const { to, cc, subject, messageId, date, ...rest } = options;
  const alike = p.to.length > 0 ? JSON.stringify([rest, cc !== undefined, !subject]) : null;
  if (alike !== null && alike.length <= MAX_ALIKE_KEY_CHARS) {
    const hit = alikeMessages.get(alike);
    if (hit !== undefined) {
      alikeMessages.delete(alike);
      alikeMessages.set(alike, hit);
    }
    if (hit) {
      raw = fromShared(hit, { ...recipients, subject: subject || undefined, date: new Date(input.date) });
      if (known && known.size < MAX_SHARED_PER_REQUEST) known.set(key!, toShared(hit.root, raw));
      return raw;
    }
    const root = new MailComposer(options).compile();
    raw = buildSync(root);
    if (raw === null) return crlfOnly(await root.build());
    raw = crlfOnly(raw);
    made = toShared(root, raw);
    alikeMessages.set(alike, made);
    if (alikeMessages.size > MAX_ALIKE) alikeMessages.delete(alikeMessages.keys().next().value!);
  } else {
    const root = new MailComposer(options).compile();
    raw = buildSync(root);
    if (raw === null) return crlfOnly(await root.build());
    raw = crlfOnly(raw);
    if (known) made = toShared(root, raw);
  }
  if (known && known.size < MAX_SHARED_PER_REQUEST) known.set(key!, made);
  return raw;
}

/**
 * Messages are often alike but for their recipients: the personalizations of one request, and
 * the requests of one sender that differ only in recipients and subject. Then To, Cc (Bcc is
 * never written), Message-ID, Subject and Date are the only header fields that differ, and the
 * body is the same bytes. Such a message is made from one composed before: its header fields
 * with those written again by nodemailer's own encoder and folding (MimeNode.encodeHeaderValue,
 * foldLines at 76, as buildHeaders does), and its body as is. Multipart boundaries are then
 * shared by those messages, which MIME allows.
 *
 * Alike is decided on everything else that goes into the message (the composer's options but
 * those fields), for messages whose options fit in MAX_ALIKE_KEY_CHARS, over the last MAX_ALIKE
 * such messages. Within a request, personalizations are first looked up on their own fields
 * (no need to serialise the content again for each); larger messages (attachments) are shared
 * only that way.
 */
interface SharedMessage {
  root: MimeNodeInternals;
  /** Header fields, folded, without their line breaks between them. */
  fields: string[];
  /** Indexes in `fields`; -1 when absent. */
  to: number;
  cc: number;
  messageId: number;
  subject: number;
  date: number;
  /** From the blank line after the header to the end. */
  body: Buffer;
}

const MAX_ALIKE = 64;
const MAX_ALIKE_KEY_CHARS = 64 * 1024;
const alikeMessages = new Map<string, SharedMessage | null>();
const MAX_SHARED_PER_REQUEST = 8; // distinct personalization shapes remembered per request
const shared = new WeakMap<MailRequest, Map<string, SharedMessage | null>>();

/**
 * Everything except To, Cc and Message-ID that goes into a personalization's message, as a
 * string: two personalizations of a request with the same key make the same message but for
 * those fields. Null when sharing is not worth it (a request of one personalization).
 */
function shareKey(input: ComposeInput): string | null {
  const { request } = input;
  if (request.personalizations.length < 2) return null;
  const p = request.personalizations[input.personalizationIndex];
  if (!p || p.to.length === 0) return null;
  return JSON.stringify([p.from ?? null, p.subject ?? null, p.headers, p.substitutions, p.dynamicTemplateData ?? null, p.cc.length > 0, input.date, input.hostname]);
}

function toShared(root: unknown, raw: Buffer): SharedMessage | null {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const fields: string[] = [];
  for (const line of raw.toString('utf8', 0, end).split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && fields.length > 0) fields[fields.length - 1] += `\r\n${line}`;
    else fields.push(line);
  }
  const find = (name: string): number | null => {
    const at = fields.flatMap((f, i) => (f.startsWith(`${name}: `) ? [i] : []));
    return at.length === 1 ? at[0]! : at.length === 0 ? -1 : null;
  };
  const to = find('To');
  const cc = find('Cc');
  const messageId = find('Message-ID');
  const subject = find('Subject');
  const date = find('Date');
  if (to === null || to < 0 || cc === null || messageId === null || messageId < 0 || subject === null || date === null || date < 0) return null;
  return { root: root as MimeNodeInternals, fields, to, cc, messageId, subject, date, body: raw.subarray(end) };
}

interface Differences {
  to: Address[];
  cc: Address[];
  messageId: string;
  /** Written again when given: else the shared message's own (the same by its key). */
  subject?: string | undefined;
  date?: Date;
}

function fromShared(s: SharedMessage, d: Differences): Buffer {
  const fields = s.fields.slice();
  const field = (key: string, value: unknown): string => foldLines(`${key}: ${s.root.encodeHeaderValue(key, value)}`, 76);
  fields[s.to] = field('To', d.to.map(toNodemailer));
  if (s.cc >= 0) fields[s.cc] = field('Cc', d.cc.map(toNodemailer));
  fields[s.messageId] = field('Message-ID', d.messageId);
  // Present exactly when the subject is not empty: that is part of the key.
  if (d.subject !== undefined && s.subject >= 0) fields[s.subject] = field('Subject', d.subject);
  if (d.date !== undefined) fields[s.date] = field('Date', d.date);
  // One copy of the body into a buffer of the right size (Buffer.concat's loops cost more than
  // the copy for a large body).
  const head = fields.join('\r\n');
  const headBytes = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headBytes + s.body.length);
  out.write(head, 0, 'utf8');
  s.body.copy(out, headBytes);
  return out;
}

/**
 * The message with every line break a CRLF (RFC 5322 §2.3: CR and LF appear only together).
 * nodemailer writes its own line breaks as CRLF, but copies a 7bit or 8bit part's content as
 * given: a body written with LF keeps its LFs. Fixed here, once per composed body (the messages
 * made from it with `fromShared` share the result), rather than by the SMTP client for every
 * message it sends. Bytes are kept as they are (latin1 maps each byte to one char and back).
 */
export function crlfOnly(raw: Buffer): Buffer {
  if (!hasBareLineBreak(raw)) return raw;
  return Buffer.from(raw.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

/** A CR not followed by LF, or an LF not after a CR; checked with the native indexOf. */
function hasBareLineBreak(raw: Buffer): boolean {
  for (let i = raw.indexOf(0x0a); i !== -1; i = raw.indexOf(0x0a, i + 1)) {
    if (i === 0 || raw[i - 1] !== 0x0d) return true;
  }
  for (let i = raw.indexOf(0x0d); i !== -1; i = raw.indexOf(0x0d, i + 1)) {
    if (raw[i + 1] !== 0x0a) return true;
  }
  return false;
}

function messageIdOf(input: ComposeInput): string {
  return `<${input.messageId}@${input.hostname}>`;
}

/** The nodemailer message options for one personalization (see composeMessage). */
export function mailOptions(input: ComposeInput): Mail.Options {
  const { request } = input;
  const p = request.personalizations[input.personalizationIndex];
  if (!p) throw new Error(`personalization ${input.personalizationIndex} missing from request`);
  const sub = (text: string): string => substitute(text, p.substitutions);
  const template = request.template;
  // Rendered only when used: a part the request overrides never runs.
  const fromTemplate = (part: TemplatePart): string | undefined => {
    const source = template?.[part];
    return template && source ? renderTemplatePart(template.versionId, part, source, p.dynamicTemplateData ?? {}) : undefined;
  };
  const text = request.content.find((c) => c.type === 'text/plain');
  const html = request.content.find((c) => c.type === 'text/html');
  const others = request.content.filter((c) => c !== text && c !== html);
  const subject = p.subject ?? request.subject;
  let textBody = fromTemplate('plain') ?? (text ? sub(text.value) : undefined);
  let htmlBody = fromTemplate('html') ?? (html ? sub(html.value) : undefined);
  const tracking = input.tracking;
  const headers = mapValues({ ...request.headers, ...p.headers }, (v) => oneLine(sub(v)));
  if (tracking) {
    if (textBody !== undefined) textBody = tracking.text(textBody);
    if (htmlBody !== undefined) htmlBody = tracking.html(htmlBody);
    // Added after substitutions, which must never touch a signed link.
    const taken = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
    for (const [k, v] of Object.entries(tracking.headers)) if (!taken.has(k.toLowerCase())) headers[k] = v;
  }
  const options: Mail.Options = {
    from: toNodemailer(p.from ?? request.from),
    to: p.to.map(toNodemailer),
    subject: oneLine(subject !== undefined ? sub(subject) : (fromTemplate('subject') ?? '')),
    messageId: messageIdOf(input),
    date: new Date(input.date),
    headers,
    attachments: request.attachments.map((a) => ({
      content: a.content,
      encoding: 'base64',
      filename: a.filename,
      ...(a.type ? { contentType: a.type } : {}),
      contentDisposition: a.disposition,
      ...(a.contentId ? { cid: a.contentId } : {}),
    })),
  };
  if (p.cc.length > 0) options.cc = p.cc.map(toNodemailer);
  if (request.replyTo.length > 0) options.replyTo = request.replyTo.map(toNodemailer);
  if (textBody !== undefined) options.text = textBody;
  if (htmlBody !== undefined) options.html = htmlBody;
  if (others.length > 0) options.alternatives = others.map((c) => ({ contentType: c.type, content: sub(c.value) }));
  return options;
}

/**
 * MimeNode normalises a header key (three regular expressions) on every setHeader and getHeader:
 * a dozen times per node, for the same few keys. The result depends on the key alone, so it is
 * remembered, for at most MAX_HEADER_KEYS distinct keys (custom header names come from requests).
 */
const MAX_HEADER_KEYS = 1000;
{
  const proto = MimeNode.prototype as unknown as { _normalizeHeaderKey(this: unknown, key: unknown): string };
  const normalize = proto._normalizeHeaderKey;
  const known = new Map<string, string>();
  proto._normalizeHeaderKey = function (key) {
    if (typeof key !== 'string') return normalize.call(this, key);
    let normalized = known.get(key);
    if (normalized === undefined) {
      normalized = normalize.call(this, key);
      if (known.size < MAX_HEADER_KEYS) known.set(key, normalized);
    }
    return normalized;
  };
}

/**
 * The parts of nodemailer's MimeNode that its `build()` reads. `build()` streams the tree through
 * PassThroughs, encoder transforms and a pipeline per node, with a setImmediate between steps:
 * most of the cost of composing. For a tree whose contents are all in memory, `buildSync` writes
 * the same bytes without streams: the same `buildHeaders()`, the same boundaries, the same encoders
 * fed the whole content as one chunk (their output does not depend on how the input is split), and
 * the same final line break.
 */
interface MimeNodeInternals {
  content?: unknown;
  _raw?: unknown;
  _transforms: unknown[];
  _processFuncs: unknown[];
  newline?: unknown;
  multipart: string | false;
  boundary: string | false;
  contentType?: string;
  childNodes: MimeNodeInternals[];
  buildHeaders(): string;
  getTransferEncoding(): string | false;
  encodeHeaderValue(key: string, value: unknown): string;
}

/**
 * The message `node.build()` would produce, or null when the tree holds anything that only the
 * streaming build handles (streams, files, URLs, raw nodes, transforms): the caller falls back.
 * Exported for the test that compares it with `build()` byte for byte.
 */
export function buildSync(root: unknown): Buffer | null {
  const node = root as MimeNodeInternals;
  if (node._transforms.length > 0 || node._processFuncs.length > 0 || node.newline) return null;
  const parts: (string | Buffer)[] = [];
  if (!appendNode(node, parts)) return null;
  let out = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
  // mime-node's LastNewline: the message ends with a line break.
  const last = out.length > 0 ? out[out.length - 1] : undefined;
  if (last === 0x0d) out = Buffer.concat([out, Buffer.from('\n')]);
  else if (last !== 0x0a) out = Buffer.concat([out, Buffer.from('\r\n')]);
  return out;
}

function appendNode(node: MimeNodeInternals, parts: (string | Buffer)[]): boolean {
  if (node._raw) return false;
  const content = node.content;
  if (content && typeof content !== 'string' && !Buffer.isBuffer(content)) return false;
  parts.push(node.buildHeaders() + '\r\n\r\n');
  if (content) {
    const encoding = node.getTransferEncoding();
    const bytes: Buffer = typeof content === 'string' ? Buffer.from(content, 'utf8') : (content as Buffer);
    if (encoding === 'base64') parts.push(runEncoder(new base64.Encoder({}), bytes));
    else if (encoding === 'quoted-printable') parts.push(runEncoder(new qp.Encoder({ binary: !/^text\//i.test(node.contentType ?? '') } as qp.EncoderOptions), bytes));
    else parts.push(bytes);
  }
  if (node.multipart) {
    for (let i = 0; i < node.childNodes.length; i++) {
      parts.push((i > 0 ? '\r\n' : '') + '--' + String(node.boundary) + '\r\n');
      if (!appendNode(node.childNodes[i]!, parts)) return false;
    }
    parts.push('\r\n--' + String(node.boundary) + '--\r\n');
  }
  return true;
}

/** Runs a nodemailer encoder transform over one chunk synchronously, collecting what it pushes. */
function runEncoder(encoder: import('node:stream').Transform, input: Buffer): Buffer {
  const out: Buffer[] = [];
  const e = encoder as unknown as {
    push(chunk: Buffer | string, encoding?: BufferEncoding): boolean;
    _transform(chunk: Buffer, encoding: string, done: (error?: Error | null) => void): void;
    _flush(done: (error?: Error | null) => void): void;
  };
  e.push = (chunk, encoding) => {
    out.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding ?? 'utf8') : chunk);
    return true;
  };
  const check = (error?: Error | null): void => {
    if (error) throw error;
  };
  e._transform(input, 'buffer', check);
  e._flush(check);
  return Buffer.concat(out);
}

/**
 * Substitution values and template data may hold line breaks meant for the body; in a header they
 * would start a new header (injection), so there they become spaces.
 */
function oneLine(value: string): string {
  return value.replace(/[\r\n\0]+/g, ' ');
}

/**
 * An address as nodemailer takes it. Always an object: a bare string would go through
 * nodemailer's address parser, which costs more than the rest of the To field; the address was
 * validated when the request was accepted, so there is nothing to parse.
 */
function toNodemailer(a: Address): Mail.Address {
  return { name: a.name ?? '', address: a.email };
}

/** SendGrid's legacy substitutions: each key is replaced literally wherever it appears. */
function substitute(text: string, substitutions: Record<string, string>): string {
  let out = text;
  for (const [key, value] of Object.entries(substitutions)) {
    if (key !== '') out = out.split(key).join(value);
  }
  return out;
}

function mapValues(record: Record<string, string>, fn: (v: string) => string): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v)]));
}
