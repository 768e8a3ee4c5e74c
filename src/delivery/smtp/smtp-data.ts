const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const END_AFTER_CRLF = Buffer.from('.\r\n');
const END_AFTER_TEXT = Buffer.from('\r\n.\r\n');

/**
 * The bytes to send after a 354, as a list of slices to write in one go: the message dot-stuffed
 * (RFC 5321 §4.5.2: a line that starts with "." gets one more) and ended with "<CRLF>.<CRLF>".
 * When the message already ends with CRLF, that CRLF is the first half of the terminator
 * (§4.1.1.4), so the server gets the message byte for byte. A bare LF or CR becomes CRLF: §2.3.8
 * allows CR and LF on the wire only as a pair, and a composed message should have no others.
 * Lines are never re-wrapped: their length is the composer's business.
 */
export function dataSlices(message: Buffer): Buffer[] {
  if (message.length === 0) return [END_AFTER_CRLF];
  const clean = isCleanCrlf(message);
  const parts = clean ? [message] : normalise(message);
  parts.push(endsWithLineBreak(message) ? END_AFTER_CRLF : END_AFTER_TEXT);
  return parts;
}

/** `dataSlices` as one buffer, for callers that send the same message many times. */
export function encodeData(message: Buffer): Buffer {
  return Buffer.concat(dataSlices(message));
}

/** The number of bytes `dataSlices` produces. */
export function slicesLength(slices: readonly Buffer[]): number {
  let total = 0;
  for (const s of slices) total += s.length;
  return total;
}

function endsWithLineBreak(message: Buffer): boolean {
  const last = message[message.length - 1];
  return last === LF || last === CR;
}

/**
 * True when every CR and LF is part of a CRLF and no line starts with a dot: the common case,
 * checked with the native `indexOf` so a well-formed message is never copied byte by byte.
 */
function isCleanCrlf(message: Buffer): boolean {
  if (message[0] === DOT) return false;
  for (let i = message.indexOf(LF); i !== -1; i = message.indexOf(LF, i + 1)) {
    if (i === 0 || message[i - 1] !== CR || message[i + 1] === DOT) return false;
  }
  for (let i = message.indexOf(CR); i !== -1; i = message.indexOf(CR, i + 1)) {
    if (message[i + 1] !== LF) return false;
  }
  return true;
}

/**
 * The slow path: bare CR or LF to CRLF, a dot at the start of a line doubled. As one buffer made
 * by the regular-expression engine over a latin1 string (byte for byte, no decoding): a message
 * written with LF line ends would otherwise go out as two slices per line.
 */
function normalise(message: Buffer): Buffer[] {
  let text = message.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n').replace(/\r\n\./g, '\r\n..');
  if (text.charCodeAt(0) === DOT) text = `.${text}`;
  return [Buffer.from(text, 'latin1')];
}
