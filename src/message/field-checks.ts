import type { ErrorCode, FieldProblem } from '../errors.js';
import type { Address } from './mail-request.js';

// RFC 5321 §4.5.3.1: 64-octet local part, 255-octet domain, 254-octet path in practice.
const MAX_LOCAL = 64;
const MAX_ADDRESS = 254;
// A pragmatic dot-atom address: what SendGrid accepts. Quoted local parts are refused on purpose.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
// RFC 5322 §2.2: a header field name is printable US-ASCII except colon.
const HEADER_NAME = /^[!-9;-~]+$/;

/** Collects every problem with a request so the answer can list them all, as SendGrid does. */
export class Problems {
  readonly list: FieldProblem[] = [];

  add(code: ErrorCode, field: string | null, message: string): void {
    // One line per field is enough: the first problem found with a field is the one to fix.
    if (this.list.length < 100 && !this.list.some((p) => p.field === field)) this.list.push({ code, field, message });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }
}

export function hasLineBreak(value: string): boolean {
  return /[\r\n\0]/.test(value);
}

export function isValidEmail(email: string): boolean {
  if (email.length > MAX_ADDRESS) return false;
  const at = email.lastIndexOf('@');
  if (at < 1) return false;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > MAX_LOCAL || !LOCAL_PART.test(local)) return false;
  const labels = domain.split('.');
  return labels.length >= 2 && labels.every((l) => DOMAIN_LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]!);
}

export function isValidHeaderName(name: string): boolean {
  return name.length <= 200 && HEADER_NAME.test(name);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks an `{email, name}` object; refuses CR/LF in either (header injection) at the point the
 * address enters Herald, so nothing later has to think about it.
 */
export function readAddress(value: unknown, field: string, problems: Problems): Address | undefined {
  if (!isPlainObject(value)) {
    problems.add('HERALD_ERR_INVALID_FIELD', field, 'Must be an object with an email and an optional name, e.g. {"email": "example@example.com", "name": "Example"}.');
    return undefined;
  }
  const { email, name } = value;
  if (email === undefined || email === null || email === '') {
    problems.add('HERALD_ERR_MISSING_FIELD', `${field}.email`, 'The email parameter is required.');
    return undefined;
  }
  if (typeof email !== 'string') {
    problems.add('HERALD_ERR_INVALID_EMAIL', `${field}.email`, 'The email parameter must be a string.');
    return undefined;
  }
  if (hasLineBreak(email)) {
    problems.add('HERALD_ERR_HEADER_INJECTION', `${field}.email`, 'Carriage returns and line feeds are not allowed in addresses.');
    return undefined;
  }
  if (!isValidEmail(email)) {
    problems.add('HERALD_ERR_INVALID_EMAIL', `${field}.email`, 'Does not contain a valid address.');
    return undefined;
  }
  if (name !== undefined && name !== null) {
    if (typeof name !== 'string') {
      problems.add('HERALD_ERR_INVALID_FIELD', `${field}.name`, 'The name parameter must be a string.');
      return undefined;
    }
    if (hasLineBreak(name)) {
      problems.add('HERALD_ERR_HEADER_INJECTION', `${field}.name`, 'Carriage returns and line feeds are not allowed in names.');
      return undefined;
    }
    if (name.length > 256) {
      problems.add('HERALD_ERR_INVALID_FIELD', `${field}.name`, 'The name parameter is limited to 256 characters.');
      return undefined;
    }
    if (name !== '') return { email, name };
  }
  return { email };
}

export function readAddressList(value: unknown, field: string, problems: Problems): Address[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.add('HERALD_ERR_INVALID_FIELD', field, 'Must be an array of email objects.');
    return [];
  }
  const out: Address[] = [];
  value.forEach((item, i) => {
    const address = readAddress(item, `${field}.${i}`, problems);
    if (address) out.push(address);
  });
  return out;
}

/**
 * Reads a string-to-string map (headers, substitutions, custom_args) whose total size is bounded.
 * `headers` also checks names and refuses the ones Herald sets itself.
 */
export function readStringMap(
  value: unknown,
  field: string,
  problems: Problems,
  limits: { maxBytes: number; headers?: boolean; allowLineBreaks?: boolean },
): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    problems.add('HERALD_ERR_INVALID_FIELD', field, 'Must be an object of string keys and string values.');
    return {};
  }
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [key, raw] of Object.entries(value)) {
    if (typeof raw !== 'string') {
      problems.add('HERALD_ERR_INVALID_FIELD', `${field}.${key}`, 'Values must be strings.');
      continue;
    }
    if (limits.headers) {
      if (!isValidHeaderName(key)) {
        problems.add('HERALD_ERR_HEADER_INJECTION', `${field}.${key}`, 'Header names must be printable US-ASCII without spaces or colons (RFC 5322 §2.2).');
        continue;
      }
      if (RESERVED_HEADERS.has(key.toLowerCase())) {
        problems.add('HERALD_ERR_RESERVED_HEADER', `${field}.${key}`, `The ${key} header is reserved and cannot be set in headers; use the matching field of the request.`);
        continue;
      }
    }
    if ((!limits.allowLineBreaks && hasLineBreak(raw)) || (limits.headers && hasLineBreak(key)) || raw.includes('\0')) {
      problems.add('HERALD_ERR_HEADER_INJECTION', `${field}.${key}`, 'Carriage returns and line feeds are not allowed in header values.');
      continue;
    }
    bytes += Buffer.byteLength(key) + Buffer.byteLength(raw);
    out[key] = raw;
  }
  if (bytes > limits.maxBytes) {
    problems.add('HERALD_ERR_INVALID_FIELD', field, `Is limited to ${limits.maxBytes} bytes in total; this one has ${bytes}.`);
  }
  return out;
}

/** Headers that SendGrid refuses in `headers`: Herald sets them from the request's own fields. */
export const RESERVED_HEADERS = new Set([
  'x-sg-id',
  'x-sg-eid',
  'received',
  'dkim-signature',
  'content-type',
  'content-transfer-encoding',
  'to',
  'from',
  'subject',
  'reply-to',
  'cc',
  'bcc',
  'message-id',
  'date',
  'mime-version',
]);
