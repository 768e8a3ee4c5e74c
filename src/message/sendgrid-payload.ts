import { HeraldError } from '../errors.js';
import {
  Problems,
  hasLineBreak,
  isPlainObject,
  readAddress,
  readAddressList,
  readStringMap,
} from './field-checks.js';
import type { Address, Attachment, MailRequest, Personalization } from './mail-request.js';
import { readTrackingSettings } from './tracking-payload.js';

// Limits from SendGrid's Mail Send reference and its errors page.
const MAX_PERSONALIZATIONS = 1000;
const MAX_RECIPIENTS = 1000;
const MAX_CATEGORIES = 10;
const MAX_CATEGORY_LENGTH = 255;
const MAX_CUSTOM_ARGS_BYTES = 10_000;
const MAX_SUBSTITUTIONS_BYTES = 10_000;
const MAX_HEADERS_BYTES = 10_000;
const MAX_SUBJECT_LENGTH = 998; // RFC 5322 §2.1.1 line limit
const MAX_SEND_AT_AHEAD_S = 72 * 3600;
const MAX_GROUPS_TO_DISPLAY = 25; // SendGrid Mail Send: asm.groups_to_display
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

/**
 * Validates a SendGrid v3 `/v3/mail/send` body and returns it normalised. Every problem found is
 * reported at once in one HeraldError (SendGrid's `errors` array), never a partial accept.
 */
export function parseMailSend(body: unknown, nowMs: number): MailRequest {
  const problems = new Problems();
  if (body === undefined) {
    throw new HeraldError('HERALD_ERR_BAD_JSON', { field: null, message: 'Bad Request: the request body is empty; a JSON object is expected.' });
  }
  if (!isPlainObject(body)) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: null, message: 'The request body must be a JSON object.' });
  }

  const from = body.from === undefined
    ? (problems.add('HERALD_ERR_MISSING_FIELD', 'from.email', 'The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.'), undefined)
    : readAddress(body.from, 'from', problems);

  const subject = readSubject(body.subject, 'subject', problems);
  const templateId = readOptionalString(body.template_id, 'template_id', problems, 100);
  const replyTo = readReplyTo(body, problems);
  const content = readContent(body.content, problems);
  const attachments = readAttachments(body.attachments, problems);
  const headers = readStringMap(body.headers, 'headers', problems, { maxBytes: MAX_HEADERS_BYTES, headers: true });
  const categories = readCategories(body.categories, problems);
  const customArgs = readStringMap(body.custom_args, 'custom_args', problems, { maxBytes: MAX_CUSTOM_ARGS_BYTES });
  const sendAt = readSendAt(body.send_at, 'send_at', problems, nowMs);
  const batchId = readOptionalString(body.batch_id, 'batch_id', problems, 100);
  const sandbox = readSandbox(body.mail_settings, problems);
  const asm = readAsm(body.asm, problems);
  const tracking = readTrackingSettings(body.tracking_settings, problems);
  const personalizations = readPersonalizations(body.personalizations, problems, nowMs);

  if (content.length === 0 && !templateId && body.content === undefined) {
    problems.add('HERALD_ERR_MISSING_FIELD', 'content', 'Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block.');
  }
  // A subject that was given but refused is reported already; only a missing one is asked for here.
  if ((body.subject === undefined || body.subject === null) && !templateId && body.template_id === undefined) {
    personalizations.forEach((p, i) => {
      if (p.subject === undefined) {
        problems.add('HERALD_ERR_MISSING_FIELD', `personalizations.${i}.subject`, 'The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.');
      }
    });
  }

  if (!problems.empty || !from) {
    const first = problems.list[0] ?? { code: 'HERALD_ERR_INVALID_FIELD' as const, field: 'from', message: 'The from object is not valid.' };
    throw new HeraldError(first.code, { field: first.field, message: first.message, problems: problems.list });
  }

  const request: MailRequest = { personalizations, from, replyTo, content, attachments, headers, categories, customArgs, sandbox };
  if (subject !== undefined) request.subject = subject;
  if (sendAt !== undefined) request.sendAt = sendAt;
  if (batchId !== undefined) request.batchId = batchId;
  if (templateId !== undefined) request.templateId = templateId;
  if (tracking !== undefined) request.tracking = tracking;
  if (asm !== undefined) {
    request.asmGroupId = asm.groupId;
    if (asm.groupsToDisplay.length > 0) request.asmGroupsToDisplay = asm.groupsToDisplay;
  }
  return request;
}

function readPersonalizations(value: unknown, problems: Problems, nowMs: number): Personalization[] {
  if (value === undefined || value === null) {
    problems.add('HERALD_ERR_MISSING_FIELD', 'personalizations', 'The personalizations field is required and must have at least one personalization.');
    return [];
  }
  if (!Array.isArray(value)) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'personalizations', 'The personalizations field must be an array.');
    return [];
  }
  if (value.length === 0) {
    problems.add('HERALD_ERR_MISSING_FIELD', 'personalizations', 'You must have at least one personalization.');
    return [];
  }
  if (value.length > MAX_PERSONALIZATIONS) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'personalizations', `The personalization block is limited to ${MAX_PERSONALIZATIONS} personalizations per API request. You have provided ${value.length} personalizations. Please consider splitting this into multiple requests and resending your request.`);
    return [];
  }
  const out: Personalization[] = [];
  let recipients = 0;
  value.forEach((raw, i) => {
    const field = `personalizations.${i}`;
    if (!isPlainObject(raw)) {
      problems.add('HERALD_ERR_INVALID_FIELD', field, 'Each personalization must be an object.');
      return;
    }
    const to = readAddressList(raw.to, `${field}.to`, problems);
    const cc = readAddressList(raw.cc, `${field}.cc`, problems);
    const bcc = readAddressList(raw.bcc, `${field}.bcc`, problems);
    if (raw.to === undefined || (Array.isArray(raw.to) && raw.to.length === 0)) {
      problems.add('HERALD_ERR_MISSING_FIELD', `${field}.to`, 'The to array is required for all personalization objects, and must have at least one email object with a valid email address.');
    }
    recipients += to.length + cc.length + bcc.length;
    const seen = new Set<string>();
    for (const [kind, list] of [['to', to], ['cc', cc], ['bcc', bcc]] as const) {
      for (const a of list) {
        const key = a.email.toLowerCase();
        if (seen.has(key)) {
          problems.add('HERALD_ERR_DUPLICATE_RECIPIENT', field, `Each email address in the personalization block should be unique between to, cc, and bcc. We found the first duplicate instance of [${a.email}] in the ${field}.${kind} field.`);
        }
        seen.add(key);
      }
    }
    const p: Personalization = {
      to,
      cc,
      bcc,
      headers: readStringMap(raw.headers, `${field}.headers`, problems, { maxBytes: MAX_HEADERS_BYTES, headers: true }),
      // Substitution values may span lines (bodies); compose keeps line breaks out of headers.
      substitutions: readStringMap(raw.substitutions, `${field}.substitutions`, problems, { maxBytes: MAX_SUBSTITUTIONS_BYTES, allowLineBreaks: true }),
      customArgs: readStringMap(raw.custom_args, `${field}.custom_args`, problems, { maxBytes: MAX_CUSTOM_ARGS_BYTES }),
    };
    if (raw.from !== undefined) {
      const from = readAddress(raw.from, `${field}.from`, problems);
      if (from) p.from = from;
    }
    const subject = readSubject(raw.subject, `${field}.subject`, problems);
    if (subject !== undefined) p.subject = subject;
    const sendAt = readSendAt(raw.send_at, `${field}.send_at`, problems, nowMs);
    if (sendAt !== undefined) p.sendAt = sendAt;
    if (raw.dynamic_template_data !== undefined && raw.dynamic_template_data !== null) {
      if (!isPlainObject(raw.dynamic_template_data)) {
        problems.add('HERALD_ERR_INVALID_FIELD', `${field}.dynamic_template_data`, 'dynamic_template_data must be an object.');
      } else {
        p.dynamicTemplateData = raw.dynamic_template_data;
      }
    }
    out.push(p);
  });
  if (recipients > MAX_RECIPIENTS) {
    problems.add('HERALD_ERR_TOO_MANY_RECIPIENTS', 'personalizations', `There is a limit of ${MAX_RECIPIENTS} total recipients (to + cc + bcc) per request; this one has ${recipients}.`);
  }
  return out;
}

function readSubject(value: unknown, field: string, problems: Problems): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    problems.add('HERALD_ERR_INVALID_FIELD', field, 'The subject must be a string.');
    return undefined;
  }
  if (hasLineBreak(value)) {
    problems.add('HERALD_ERR_HEADER_INJECTION', field, 'Carriage returns and line feeds are not allowed in the subject.');
    return undefined;
  }
  if (value.length > MAX_SUBJECT_LENGTH) {
    problems.add('HERALD_ERR_INVALID_FIELD', field, `The subject is limited to ${MAX_SUBJECT_LENGTH} characters.`);
    return undefined;
  }
  if (value === '') {
    problems.add('HERALD_ERR_INVALID_FIELD', field, 'The subject must be at least one character in length.');
    return undefined;
  }
  return value;
}

function readOptionalString(value: unknown, field: string, problems: Problems, max: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > max || hasLineBreak(value)) {
    problems.add('HERALD_ERR_INVALID_FIELD', field, `Must be a non-empty string of at most ${max} characters without line breaks.`);
    return undefined;
  }
  return value;
}

function readReplyTo(body: Record<string, unknown>, problems: Problems): Address[] {
  if (body.reply_to !== undefined && body.reply_to_list !== undefined) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'reply_to_list', 'The reply_to and reply_to_list fields cannot be used together.');
    return [];
  }
  if (body.reply_to !== undefined) {
    const one = readAddress(body.reply_to, 'reply_to', problems);
    return one ? [one] : [];
  }
  const list = readAddressList(body.reply_to_list, 'reply_to_list', problems);
  if (list.length > 1000) problems.add('HERALD_ERR_INVALID_FIELD', 'reply_to_list', 'The reply_to_list is limited to 1000 addresses.');
  return list;
}

function readContent(value: unknown, problems: Problems): { type: string; value: string }[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'content', 'The content field must be an array of {type, value} objects.');
    return [];
  }
  if (value.length === 0) {
    problems.add('HERALD_ERR_MISSING_FIELD', 'content', 'There must be at least one defined content block.');
    return [];
  }
  const out: { type: string; value: string }[] = [];
  const seenTypes = new Set<string>();
  value.forEach((raw, i) => {
    const field = `content.${i}`;
    if (!isPlainObject(raw)) {
      problems.add('HERALD_ERR_INVALID_FIELD', field, 'Each content block must be an object with a type and a value.');
      return;
    }
    const { type, value: text } = raw;
    if (typeof type !== 'string' || type === '' || hasLineBreak(type) || !/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i.test(type)) {
      problems.add('HERALD_ERR_INVALID_FIELD', `${field}.type`, 'The content type must be a MIME type such as text/plain or text/html.');
      return;
    }
    if (typeof text !== 'string' || text === '') {
      problems.add('HERALD_ERR_INVALID_FIELD', `${field}.value`, 'The content value must be a string at least one character in length.');
      return;
    }
    const lower = type.toLowerCase();
    if (seenTypes.has(lower)) {
      problems.add('HERALD_ERR_INVALID_FIELD', `${field}.type`, `Only one content block of type ${lower} is allowed.`);
      return;
    }
    seenTypes.add(lower);
    out.push({ type: lower, value: text });
  });
  // SendGrid: "If present, text/plain must be first, followed by text/html, followed by any other".
  const plain = out.findIndex((c) => c.type === 'text/plain');
  const html = out.findIndex((c) => c.type === 'text/html');
  if (plain > 0) problems.add('HERALD_ERR_INVALID_FIELD', 'content', 'If present, text/plain content must be first, followed by text/html, followed by any other content.');
  else if (html >= 0 && out.slice(0, html).some((c) => c.type !== 'text/plain')) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'content', 'If present, text/html content must follow text/plain and come before any other content.');
  }
  return out;
}

function readAttachments(value: unknown, problems: Problems): Attachment[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'attachments', 'The attachments field must be an array.');
    return [];
  }
  const out: Attachment[] = [];
  value.forEach((raw, i) => {
    const field = `attachments.${i}`;
    if (!isPlainObject(raw)) {
      problems.add('HERALD_ERR_INVALID_FIELD', field, 'Each attachment must be an object.');
      return;
    }
    const { content, filename, type, disposition, content_id: contentId } = raw;
    if (typeof content !== 'string' || content === '') {
      problems.add('HERALD_ERR_MISSING_FIELD', `${field}.content`, 'The attachment content is required and must be a base64 string.');
      return;
    }
    if (!BASE64.test(content) || content.replace(/[\r\n]/g, '').length % 4 !== 0) {
      problems.add('HERALD_ERR_INVALID_FIELD', `${field}.content`, 'The attachment content must be base64 encoded.');
      return;
    }
    if (typeof filename !== 'string' || filename === '') {
      problems.add('HERALD_ERR_MISSING_FIELD', `${field}.filename`, 'The attachment filename is required.');
      return;
    }
    if (hasLineBreak(filename)) {
      problems.add('HERALD_ERR_HEADER_INJECTION', `${field}.filename`, 'Carriage returns and line feeds are not allowed in attachment filenames.');
      return;
    }
    if (filename.length > 255) {
      problems.add('HERALD_ERR_INVALID_FIELD', `${field}.filename`, 'The attachment filename is limited to 255 characters.');
      return;
    }
    const attachment: Attachment = { content, filename, disposition: 'attachment' };
    if (type !== undefined && type !== null) {
      if (typeof type !== 'string' || hasLineBreak(type) || !/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i.test(type)) {
        problems.add('HERALD_ERR_INVALID_FIELD', `${field}.type`, 'The attachment type must be a MIME type such as application/pdf.');
        return;
      }
      attachment.type = type;
    }
    if (disposition !== undefined && disposition !== null) {
      if (disposition !== 'inline' && disposition !== 'attachment') {
        problems.add('HERALD_ERR_INVALID_FIELD', `${field}.disposition`, 'The disposition must be "inline" or "attachment".');
        return;
      }
      attachment.disposition = disposition;
    }
    if (contentId !== undefined && contentId !== null) {
      if (typeof contentId !== 'string' || contentId === '' || hasLineBreak(contentId) || contentId.length > 255) {
        problems.add('HERALD_ERR_INVALID_FIELD', `${field}.content_id`, 'The content_id must be a string without line breaks.');
        return;
      }
      attachment.contentId = contentId;
    }
    if (attachment.disposition === 'inline' && !attachment.contentId) {
      problems.add('HERALD_ERR_MISSING_FIELD', `${field}.content_id`, 'The content_id is required when the disposition is inline.');
      return;
    }
    out.push(attachment);
  });
  return out;
}

function readCategories(value: unknown, problems: Problems): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'categories', 'The categories field must be an array of strings.');
    return [];
  }
  if (value.length > MAX_CATEGORIES) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'categories', `You can have up to ${MAX_CATEGORIES} categories per request.`);
    return [];
  }
  const out: string[] = [];
  value.forEach((c, i) => {
    if (typeof c !== 'string' || c === '' || c.length > MAX_CATEGORY_LENGTH || hasLineBreak(c)) {
      problems.add('HERALD_ERR_INVALID_FIELD', `categories.${i}`, `A category must be a string of 1 to ${MAX_CATEGORY_LENGTH} characters without line breaks.`);
      return;
    }
    if (!out.includes(c)) out.push(c);
  });
  return out;
}

function readSendAt(value: unknown, field: string, problems: Problems, nowMs: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    problems.add('HERALD_ERR_INVALID_FIELD', field, 'send_at must be a unix timestamp in seconds.');
    return undefined;
  }
  if (value > nowMs / 1000 + MAX_SEND_AT_AHEAD_S) {
    problems.add('HERALD_ERR_SEND_AT_OUT_OF_RANGE', field, 'send_at cannot be more than 72 hours in the future.');
    return undefined;
  }
  return value;
}

function readSandbox(value: unknown, problems: Problems): boolean {
  if (value === undefined || value === null) return false;
  if (!isPlainObject(value)) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'mail_settings', 'mail_settings must be an object.');
    return false;
  }
  const sandbox = value.sandbox_mode;
  if (sandbox === undefined || sandbox === null) return false;
  if (!isPlainObject(sandbox) || (sandbox.enable !== undefined && typeof sandbox.enable !== 'boolean')) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'mail_settings.sandbox_mode.enable', 'sandbox_mode.enable must be a boolean.');
    return false;
  }
  return sandbox.enable === true;
}

/**
 * SendGrid's `asm`: `group_id` (required, an unsubscribe group id) and `groups_to_display` (up to
 * 25 group ids). Whether the groups are the account's is checked by the route, which has the store.
 */
function readAsm(value: unknown, problems: Problems): { groupId: number; groupsToDisplay: number[] } | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'asm', 'asm must be an object with a group_id and optional groups_to_display.');
    return undefined;
  }
  const isGroupId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
  if (value.group_id === undefined || value.group_id === null) {
    problems.add('HERALD_ERR_MISSING_FIELD', 'asm.group_id', 'asm.group_id is required when asm is given.');
    return undefined;
  }
  if (!isGroupId(value.group_id)) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'asm.group_id', 'asm.group_id must be a positive integer: the id of an unsubscribe group.');
    return undefined;
  }
  const display = value.groups_to_display;
  if (display === undefined || display === null) return { groupId: value.group_id, groupsToDisplay: [] };
  if (!Array.isArray(display) || display.length > MAX_GROUPS_TO_DISPLAY || !display.every(isGroupId)) {
    problems.add('HERALD_ERR_INVALID_FIELD', 'asm.groups_to_display', `asm.groups_to_display must be an array of up to ${MAX_GROUPS_TO_DISPLAY} unsubscribe group ids.`);
    return undefined;
  }
  return { groupId: value.group_id, groupsToDisplay: [...new Set(display)] };
}
