/**
 * A failed delivery attempt with everything needed to decide what happens next and to report it:
 * the SMTP reply and its code, the enhanced status code and the command that failed.
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  /** Basic SMTP reply code (RFC 5321 §4.2), or null when no reply came (connection failure). */
  readonly replyCode: number | null;
  /** Enhanced status code (RFC 3463), e.g. `5.1.1`, when the server gave one. */
  readonly enhancedStatus: string | null;
  readonly response: string;
  readonly command: string | null;
  readonly mxServer: string | null;

  constructor(
    message: string,
    details: { replyCode?: number | null; response?: string; command?: string | null; mxServer?: string | null; cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.replyCode = details.replyCode ?? null;
    this.response = details.response ?? message;
    this.command = details.command ?? null;
    this.mxServer = details.mxServer ?? null;
    this.enhancedStatus = parseEnhancedStatus(this.response);
  }
}

/** RFC 3463 §2: class.subject.detail, class 2, 4 or 5, right after the basic code. */
export function parseEnhancedStatus(response: string): string | null {
  const match = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(response.trim());
  return match ? match[1]! : null;
}
