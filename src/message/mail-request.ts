/** An address with an optional display name, already checked for injection and syntax. */
export interface Address {
  email: string;
  name?: string;
}

export interface Attachment {
  /** Base64, checked at accept time. */
  content: string;
  filename: string;
  type?: string;
  disposition: 'attachment' | 'inline';
  contentId?: string;
}

export interface Personalization {
  to: Address[];
  cc: Address[];
  bcc: Address[];
  from?: Address;
  subject?: string;
  headers: Record<string, string>;
  substitutions: Record<string, string>;
  customArgs: Record<string, string>;
  dynamicTemplateData?: Record<string, unknown>;
  /** Epoch seconds, as SendGrid's `send_at`. */
  sendAt?: number;
}

/**
 * A `/v3/mail/send` request after validation: what is stored once per request and composed per
 * recipient at delivery. Field names follow SendGrid's, in camelCase.
 */
export interface MailRequest {
  personalizations: Personalization[];
  from: Address;
  replyTo: Address[];
  subject?: string;
  content: { type: string; value: string }[];
  attachments: Attachment[];
  headers: Record<string, string>;
  categories: string[];
  customArgs: Record<string, string>;
  sendAt?: number;
  batchId?: string;
  templateId?: string;
  /**
   * The template's active version as it was when the request was accepted: a later edit of the
   * template does not change mail already accepted. Parts that are null are not provided.
   */
  template?: { id: string; versionId: string; subject: string | null; html: string | null; plain: string | null };
  /** SendGrid's `asm.group_id`: the unsubscribe group this mail belongs to. */
  asmGroupId?: number;
  /** SendGrid's `asm.groups_to_display`: the groups a recipient may manage from this mail. */
  asmGroupsToDisplay?: number[];
  sandbox: boolean;
  /** The HTTP request id (`X-Request-Id`, or one Herald made) it was accepted under, for the delivery logs. */
  httpRequestId?: string;
  /**
   * SendGrid's `tracking_settings`: what this mail asks of click, open and subscription tracking.
   * What it leaves out follows the account's tracking settings.
   */
  tracking?: MessageTrackingSettings;
}

/** SendGrid's `tracking_settings`, as given (each value optional). */
export interface MessageTrackingSettings {
  click?: { enable?: boolean; enableText?: boolean };
  open?: { enable?: boolean; substitutionTag?: string };
  subscription?: { enable?: boolean; text?: string; html?: string; substitutionTag?: string };
}

/** How a recipient was named in its personalization; bcc recipients are left out of the headers. */
export type RecipientKind = 'to' | 'cc' | 'bcc';

/** One email to one recipient: a request with N recipients becomes N of these. */
export interface NewMessage {
  id: string;
  accountId: string;
  requestId: string;
  personalizationIndex: number;
  recipient: string;
  recipientKind: RecipientKind;
  fromEmail: string;
  subject: string;
  categories: string[];
  customArgs: Record<string, string>;
  apiKeyId: string | null;
  templateId: string | null;
  /** The unsubscribe group (`asm.group_id`) the message belongs to, null when none. */
  asmGroupId: number | null;
  /** Epoch ms: when delivery may start. */
  readyAt: number;
  /** Epoch ms: after this the message bounces as expired. */
  expiresAt: number;
  createdAt: number;
}

/** Everything one accepted request writes, in one durable step. */
export interface AcceptedRequest {
  requestId: string;
  accountId: string;
  request: MailRequest;
  messages: NewMessage[];
  acceptedAt: number;
}
