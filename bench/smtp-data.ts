const DOT = 0x2e;
const LF = 0x0a;
const CRLF = Buffer.from('\r\n');
const END_OF_DATA = Buffer.from('.\r\n');

/**
 * The bytes to send after a 354: the message dot-stuffed (RFC 5321 §4.5.2: a line that starts with
 * "." gets one more) and ended with "<CRLF>.<CRLF>". When the message already ends with CRLF, that
 * CRLF is the first half of the terminator (§4.1.1.4), so the server gets the message byte for byte.
 */
export function encodeData(message: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < message.length; i++) {
    if (message[i] === DOT && (i === 0 || message[i - 1] === LF)) {
      // Split before the dot and repeat it: the next part starts with the same dot.
      parts.push(message.subarray(from, i), Buffer.from('.'));
      from = i;
    }
  }
  parts.push(message.subarray(from));
  const endsWithCrlf = message.length >= 2 && message[message.length - 2] === 0x0d && message[message.length - 1] === LF;
  if (!endsWithCrlf) parts.push(CRLF);
  parts.push(END_OF_DATA);
  return Buffer.concat(parts);
}
