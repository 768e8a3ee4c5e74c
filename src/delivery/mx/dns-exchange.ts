import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import dnsPacket from 'dns-packet';
import type { DecodedPacket } from 'dns-packet';

/** What an acceptable answer must carry: the id and the question that were sent, from the server asked. */
export interface Expected {
  id: number;
  qname: string;
  qtype: string;
  server: { host: string; port: number };
}

/** Why one exchange with one server failed; the caller names the question in its own error. */
export class ExchangeFailure extends Error {
  constructor(
    readonly code: 'TIMEOUT' | 'NETWORK' | 'BAD_RESPONSE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Sends one datagram and waits for the answer to it. The socket is connected, so the kernel drops
 * datagrams from any other address or port; anything that does not decode, is not a response, or
 * carries another id or question is ignored and the wait goes on (RFC 5452 §9.1): an off-path
 * forger must then guess the id and the source port before the real answer lands.
 */
export function exchangeUdp(request: Buffer, expected: Expected, timeoutMs: number): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(expected.server.host) ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (error: Error | null, response?: DecodedPacket): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // Already closed after a failed bind or connect.
      }
      if (error) reject(error);
      else resolve(response!);
    };
    const timer = setTimeout(() => finish(new ExchangeFailure('TIMEOUT', `no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (error) => finish(new ExchangeFailure('NETWORK', error.message, { cause: error })));
    socket.on('message', (message) => {
      const response = decodeMatching(message, expected);
      if (response) finish(null, response);
    });
    socket.connect(expected.server.port, expected.server.host, () => {
      // The timeout may have closed the socket while it was connecting.
      if (settled) return;
      socket.send(request, (error) => {
        if (error) finish(new ExchangeFailure('NETWORK', error.message, { cause: error }));
      });
    });
  });
}

/**
 * Asks again over TCP, length-prefixed (RFC 1035 §4.2.2). A connection carries only the answers
 * of the server it was opened to, so a mismatch here is a broken server, not a forger: it fails.
 */
export function exchangeTcp(request: Buffer, expected: Expected, timeoutMs: number): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: expected.server.host, port: expected.server.port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (error: Error | null, response?: DecodedPacket): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(response!);
    };
    const timer = setTimeout(() => finish(new ExchangeFailure('TIMEOUT', `no answer over TCP within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (error) => finish(new ExchangeFailure('NETWORK', error.message, { cause: error })));
    socket.on('close', () => finish(new ExchangeFailure('NETWORK', 'connection closed before the answer')));
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length < 2 + length) return;
      const response = decodeMatching(received.subarray(2, 2 + length), expected);
      if (response) finish(null, response);
      else finish(new ExchangeFailure('BAD_RESPONSE', 'the TCP answer does not match the question'));
    });
  });
}

/** The decoded response when it answers exactly the question asked, else null. */
function decodeMatching(message: Buffer, expected: Expected): DecodedPacket | null {
  let response: DecodedPacket;
  try {
    response = dnsPacket.decode(message);
  } catch {
    return null;
  }
  if (response.id !== expected.id || !response.flag_qr) return null;
  const questions = response.questions ?? [];
  if (questions.length !== 1) return null;
  const q = questions[0]!;
  const name = q.name.toLowerCase().replace(/\.$/, '');
  if (name !== expected.qname || q.type !== expected.qtype || (q.class !== undefined && q.class !== 'IN')) return null;
  return response;
}
