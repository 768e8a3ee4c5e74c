/**
 * Just enough MIME (RFC 2045, 2046) to read reports: header fields, content types, multipart
 * bodies and transfer encodings. General mail parsers fold a report's machine-readable parts
 * (message/delivery-status, message/feedback-report) into the text body, losing the blank lines
 * that separate its per-recipient blocks; this keeps every part as it came. Input is bounded by
 * `inboundMaxMessageBytes`, and nesting by MAX_DEPTH.
 */

/** Header fields in order, names in lower case, values unfolded (RFC 5322 §2.2.3). */
export type HeaderFields = [name: string, value: string][];

export interface MimeNode {
  headers: HeaderFields;
  /** `type/subtype` in lower case; text/plain when absent (RFC 2045 §5.2). */
  contentType: string;
  params: Record<string, string>;
  /** The body with its transfer encoding undone. */
  body: Buffer;
  /** The parts of a multipart body, else empty. */
  parts: MimeNode[];
}

const MAX_DEPTH = 8;
const MAX_PARTS = 200;

export function parseMime(raw: Buffer, depth = 0): MimeNode {
  const { head, body } = splitHead(raw);
  const headers = parseFields(head.toString('latin1'));
  const { type, params } = parseContentType(field(headers, 'content-type') ?? 'text/plain');
  const decoded = decodeBody(body, field(headers, 'content-transfer-encoding'));
  const node: MimeNode = { headers, contentType: type, params, body: decoded, parts: [] };
  if (type.startsWith('multipart/') && params.boundary && depth < MAX_DEPTH) {
    node.parts = splitMultipart(decoded, params.boundary).map((part) => parseMime(part, depth + 1));
  }
  return node;
}

/** The first value of a header field (name in any case), or null. */
export function field(headers: HeaderFields, name: string): string | null {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n === lower) return v;
  return null;
}

/** Every node of the tree, depth first. */
export function* walk(node: MimeNode): Generator<MimeNode> {
  yield node;
  for (const p of node.parts) yield* walk(p);
}

/** Splits at the first empty line; a message without one is all header. */
export function splitHead(raw: Buffer): { head: Buffer; body: Buffer } {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { head: raw.subarray(0, crlf), body: raw.subarray(crlf + 4) };
  if (lf >= 0) return { head: raw.subarray(0, lf), body: raw.subarray(lf + 2) };
  // A body that starts at once (no header fields at all).
  if (raw[0] === 0x0a || (raw[0] === 0x0d && raw[1] === 0x0a)) return { head: Buffer.alloc(0), body: raw.subarray(raw[0] === 0x0a ? 1 : 2) };
  return { head: raw, body: Buffer.alloc(0) };
}

/**
 * `Name: value` lines, continuation lines joined (RFC 5322 §2.2.3). The same syntax serves the
 * field groups of a delivery-status or feedback-report part (RFC 3464 §2.1, RFC 5965 §3.1).
 * Lines without a colon are skipped, never fatal.
 */
export function parseFields(text: string): HeaderFields {
  const out: HeaderFields = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length > 0) {
      out[out.length - 1]![1] += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[!-9;-~]+$/.test(name)) continue;
    out.push([name, line.slice(colon + 1).trim()]);
  }
  return out;
}

/** RFC 3464 §2.1: a delivery-status body is groups of fields separated by empty lines. */
export function fieldGroups(body: Buffer): HeaderFields[] {
  return body
    .toString('utf8')
    .split(/\r?\n[ \t]*\r?\n/)
    .map((group) => parseFields(group))
    .filter((group) => group.length > 0);
}

export function parseContentType(value: string): { type: string; params: Record<string, string> } {
  const [first = '', ...rest] = splitParams(value);
  const type = first.trim().toLowerCase() || 'text/plain';
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq <= 0) continue;
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    params[p.slice(0, eq).trim().toLowerCase()] = v;
  }
  return { type: type.includes('/') ? type : 'text/plain', params };
}

/** Splits at `;` outside quotes. */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && quoted && i + 1 < value.length) {
      cur += c + value[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ';' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** RFC 2046 §5.1.1: parts lie between `--boundary` lines; `--boundary--` ends them. */
function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const text = body.toString('latin1');
  const delimiter = '--' + boundary;
  const parts: Buffer[] = [];
  let start = -1;
  let pos = 0;
  while (pos <= text.length && parts.length < MAX_PARTS) {
    const at = text.indexOf(delimiter, pos);
    if (at < 0) break;
    const lineStart = at === 0 || text[at - 1] === '\n';
    if (!lineStart) {
      pos = at + delimiter.length;
      continue;
    }
    const closing = text.startsWith('--', at + delimiter.length);
    if (start >= 0) {
      // The line break before the delimiter belongs to it (RFC 2046 §5.1.1).
      let end = at;
      if (text[end - 1] === '\n') end--;
      if (text[end - 1] === '\r') end--;
      parts.push(Buffer.from(text.slice(start, Math.max(start, end)), 'latin1'));
    }
    if (closing) return parts;
    const eol = text.indexOf('\n', at);
    if (eol < 0) break;
    start = eol + 1;
    pos = start;
  }
  // No closing delimiter (a truncated report): keep what the last part has.
  if (start >= 0 && start < text.length && parts.length < MAX_PARTS) parts.push(Buffer.from(text.slice(start), 'latin1'));
  return parts;
}

function decodeBody(body: Buffer, encoding: string | null): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body.toString('latin1'));
    default:
      return body;
  }
}

/** RFC 2045 §6.7. */
function decodeQuotedPrintable(text: string): Buffer {
  const soft = text.replace(/=\r?\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const c = soft.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      out.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c & 0xff);
  }
  return Buffer.from(out);
}
