const LINE_WIDTH = 76; // chars; RFC 2045 §6.7's cap for encoded lines, kept for plain text too
// No "." anywhere, so no body line can start with one: dot-stuffing stays out of the figures.
const FILLER = 'Herald bench message body text in plain ASCII so no transfer encoding applies ';

/**
 * A valid RFC 5322 message of about `sizeBytes` bytes (never less than its headers), numbered `i`
 * in its Subject and Message-ID, every line ended with CRLF, the last one included.
 */
export function makeBody(sizeBytes: number, i: number): Buffer {
  // RFC 5322 §3.3 date with a numeric zone: "GMT" is obsolete syntax that generators must not emit.
  const date = new Date().toUTCString().replace(/GMT$/, '+0000');
  const headers = [
    'From: Herald Bench <bench@herald.test>',
    'To: Sink <sink@herald.test>',
    `Subject: Bench message ${i}`,
    `Date: ${date}`,
    `Message-ID: <bench-${i}.${Date.now()}@herald.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Transfer-Encoding: 7bit',
    '',
    '',
  ].join('\r\n');

  const start = i % FILLER.length;
  const text = FILLER.slice(start) + FILLER.repeat(Math.ceil(sizeBytes / FILLER.length) + 1);
  let body = '';
  let at = 0;
  while (headers.length + body.length < sizeBytes) {
    const room = sizeBytes - headers.length - body.length - 2;
    const width = Math.min(LINE_WIDTH, Math.max(1, room));
    body += `${text.slice(at, at + width)}\r\n`;
    at += width;
  }
  return Buffer.from(headers + body, 'ascii');
}
