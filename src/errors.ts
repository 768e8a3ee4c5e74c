/**
 * The error catalogue: every error Herald answers with has a stable code here, with its HTTP status
 * and default message. `docs/errors.md` documents each one; a test keeps the two in step.
 * A retired code is never reused.
 */
export const ERROR_CATALOGUE = {
  HERALD_ERR_UNAUTHORIZED: {
    status: 401,
    message: 'The provided authorization grant is invalid, expired, or revoked',
  },
  HERALD_ERR_FORBIDDEN: { status: 403, message: 'access forbidden' },
  HERALD_ERR_BAD_CREDENTIALS: { status: 401, message: 'The email address or password is not correct.' },
  HERALD_ERR_CSRF: { status: 403, message: 'This request needs the X-CSRF-Token header of the signed-in session.' },
  HERALD_ERR_TOO_MANY_SIGN_INS: { status: 429, message: 'Too many failed sign-ins; wait before trying again.' },
  HERALD_ERR_DUPLICATE_USER: { status: 400, message: 'A dashboard user with this email address already exists.' },
  HERALD_ERR_NOT_FOUND: { status: 404, message: 'resource not found' },
  HERALD_ERR_PAYLOAD_TOO_LARGE: {
    status: 413,
    message: 'The JSON payload you have included in your request is too large (the limit is 30 MB).',
  },
  HERALD_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Content-Type must be application/json.',
  },
  HERALD_ERR_BAD_JSON: { status: 400, message: 'Bad Request: the request body is not valid JSON.' },
  HERALD_ERR_INVALID_FIELD: { status: 400, message: 'The field is not valid.' },
  HERALD_ERR_MISSING_FIELD: { status: 400, message: 'The field is required.' },
  HERALD_ERR_INVALID_EMAIL: { status: 400, message: 'Does not contain a valid address.' },
  HERALD_ERR_HEADER_INJECTION: {
    status: 400,
    message: 'Carriage returns and line feeds are not allowed in header values or addresses.',
  },
  HERALD_ERR_RESERVED_HEADER: { status: 400, message: 'This header is reserved and cannot be set.' },
  HERALD_ERR_TOO_MANY_RECIPIENTS: {
    status: 400,
    message: 'There is a limit of 1000 total recipients (to + cc + bcc) per request.',
  },
  HERALD_ERR_DUPLICATE_RECIPIENT: {
    status: 400,
    message: 'Each email address in the personalization block should be unique between to, cc, and bcc.',
  },
  HERALD_ERR_SEND_AT_OUT_OF_RANGE: {
    status: 400,
    message: 'send_at must be a unix timestamp no more than 72 hours in the future.',
  },
  HERALD_ERR_UNKNOWN_BATCH: { status: 400, message: 'The batch ID is not valid.' },
  HERALD_ERR_UNKNOWN_TEMPLATE: { status: 400, message: 'The template_id is not a valid template ID.' },
  HERALD_ERR_TEMPLATE_SYNTAX: { status: 400, message: 'The template is not valid Handlebars.' },
  HERALD_ERR_TEMPLATE_TOO_LARGE: { status: 400, message: 'A template version is limited to 1048576 bytes of content.' },
  HERALD_ERR_TEMPLATE_LIMIT: { status: 400, message: 'The account has reached its limit of templates or template versions.' },
  HERALD_ERR_ACTIVE_VERSION: { status: 400, message: 'The active version of a template cannot be deactivated or deleted while it has others.' },
  HERALD_ERR_UNKNOWN_GROUP: { status: 400, message: 'The unsubscribe group ID is not valid.' },
  HERALD_ERR_GROUP_LIMIT: { status: 400, message: 'The account has reached its limit of 200 unsubscribe groups.' },
  HERALD_ERR_DUPLICATE_GROUP: { status: 400, message: 'An unsubscribe group with this name already exists.' },
  HERALD_ERR_INVALID_DOMAIN: { status: 400, message: 'The domain is not a valid domain name.' },
  HERALD_ERR_DUPLICATE_DOMAIN: { status: 400, message: 'This domain is already a sending domain of the account.' },
  HERALD_ERR_DOMAIN_LIMIT: { status: 400, message: 'The account has reached its limit of 100 sending domains.' },
  HERALD_ERR_WEBHOOK_TARGET_REFUSED: { status: 400, message: 'The webhook URL is not an http or https URL Herald may send to.' },
  HERALD_ERR_WEBHOOK_LIMIT: { status: 400, message: 'The account has reached its limit of 5 Event Webhooks.' },
  HERALD_ERR_WEBHOOK_TEST_FAILED: { status: 400, message: 'The test event was not accepted by the webhook URL.' },
  HERALD_ERR_INVALID_QUERY: { status: 400, message: 'The query is not valid.' },
  HERALD_ERR_INVALID_SCOPE: { status: 400, message: 'One or more scopes are not valid.' },
  HERALD_ERR_INVALID_LINK: { status: 404, message: 'This link is not valid or has expired.' },
  HERALD_ERR_BACKLOG_FULL: {
    status: 429,
    message: "Herald's delivery queue is full; retry later.",
  },
  HERALD_ERR_RATE_LIMITED: { status: 429, message: 'too many requests' },
  HERALD_ERR_DAILY_QUOTA: { status: 429, message: "The account's daily message quota is used up; retry after it resets at midnight UTC." },
  HERALD_ERR_SERVICE_UNAVAILABLE: {
    status: 503,
    message: 'Herald is shutting down or its store is unavailable; retry later.',
  },
  HERALD_ERR_DKIM_KEY_SEALED: { status: 500, message: 'A DKIM private key is encrypted and cannot be opened with the configured dkimKeyEncryptionKey.' },
  HERALD_ERR_INTERNAL: { status: 500, message: 'Internal error; it has been logged.' },
  HERALD_ERR_CONFIG: { status: 500, message: 'The configuration is not valid.' },
  HERALD_ERR_DATA_DIR_LOCKED: {
    status: 500,
    message: 'Another Herald process is already using this data directory.',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** One problem with one field, in SendGrid's error shape (`field` is null when none applies). */
export interface FieldProblem {
  code: ErrorCode;
  field: string | null;
  message: string;
}

export interface HeraldErrorOptions {
  message?: string;
  field?: string | null;
  cause?: unknown;
  /** Further problems found in the same request: SendGrid answers with all of them at once. */
  problems?: FieldProblem[];
}

/** The base error: carries a stable code, the HTTP status that code maps to, and the field at fault. */
export class HeraldError extends Error {
  override readonly name = 'HeraldError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly field: string | null;
  readonly problems: FieldProblem[];

  constructor(code: ErrorCode, options: HeraldErrorOptions = {}) {
    super(options.message ?? ERROR_CATALOGUE[code].message, { cause: options.cause });
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.field = options.field ?? null;
    this.problems = options.problems ?? [{ code, field: this.field, message: this.message }];
  }
}

/** Where each code is documented; used as SendGrid's `help` value. */
export function helpFor(code: ErrorCode): string {
  return `docs/errors.md#${code.toLowerCase().replaceAll('_', '-')}`;
}
