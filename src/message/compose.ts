import MailComposer from 'nodemailer/lib/mail-composer/index.js';
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
  const textBody = fromTemplate('plain') ?? (text ? sub(text.value) : undefined);
  const htmlBody = fromTemplate('html') ?? (html ? sub(html.value) : undefined);
  const options: Mail.Options = {
    from: toNodemailer(p.from ?? request.from),
    to: p.to.map(toNodemailer),
    subject: oneLine(subject !== undefined ? sub(subject) : (fromTemplate('subject') ?? '')),
    messageId: `<${input.messageId}@${input.hostname}>`,
    date: new Date(input.date),
    headers: mapValues({ ...request.headers, ...p.headers }, (v) => oneLine(sub(v))),
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
  return new MailComposer(options).compile().build();
}

/**
 * Substitution values and template data may hold line breaks meant for the body; in a header they
 * would start a new header (injection), so there they become spaces.
 */
function oneLine(value: string): string {
  return value.replace(/[\r\n\0]+/g, ' ');
}

function toNodemailer(a: Address): Mail.Address | string {
  return a.name ? { name: a.name, address: a.email } : a.email;
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
