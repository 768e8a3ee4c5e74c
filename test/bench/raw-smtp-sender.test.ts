import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendRaw } from '../../bench/raw-smtp-sender.js';
import { makeBody } from '../../bench/messages.js';
import { startSmtpSink } from '../support/smtp-sink.js';

test('pipelined raw sender delivers every message byte for byte, dot-stuffed lines included', async () => {
  const sink = await startSmtpSink();
  try {
    const body = Buffer.concat([
      makeBody(2048, 1),
      // RFC 5321 §4.5.2: each of these needs an extra dot on the wire, and a lone "." would end DATA.
      Buffer.from('.leading dot\r\n.\r\n..two dots\r\nlast line\r\n'),
    ]);
    const result = await sendRaw({ host: '127.0.0.1', port: sink.port, connections: 4, messages: 200, body });
    assert.equal(result.sent, 200);
    await sink.waitFor(200, 5000);
    assert.equal(sink.messages.length, 200);
    for (const msg of sink.messages) {
      assert.equal(msg.from, 'bench@herald.test');
      assert.deepEqual(msg.to, ['sink@herald.test']);
      assert.ok(msg.raw.equals(body), 'message arrived altered');
    }
  } finally {
    await sink.close();
  }
});

test('sender reads replies split across TCP chunks and several replies in one chunk', async () => {
  const received: string[] = [];
  // Byte-exact replies need a raw server: smtp-server always writes each reply whole.
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let input = '';
    let inData = false;
    const writeInPieces = async (pieces: string[]): Promise<void> => {
      for (const piece of pieces) {
        socket.write(piece);
        // A pause between writes makes each piece reach the client as a chunk of its own.
        await sleep(5);
      }
    };
    const drain = async (): Promise<void> => {
      for (;;) {
        if (inData) {
          const end = input.indexOf('\r\n.\r\n');
          if (end === -1) return;
          received.push(input.slice(0, end + 2));
          input = input.slice(end + 5);
          inData = false;
          await writeInPieces(['25', '0 queued\r\n']);
          continue;
        }
        const eol = input.indexOf('\r\n');
        if (eol === -1) return;
        const line = input.slice(0, eol);
        input = input.slice(eol + 2);
        if (line.startsWith('EHLO')) {
          await writeInPieces(['250-raw.test greets you\r\n250-PIPE', 'LINING\r\n250-SIZE 1000', '000\r\n250 8BITMIME\r\n']);
        } else if (line.startsWith('MAIL')) {
          // Hold MAIL's reply back and answer the whole pipelined group in one write.
        } else if (line.startsWith('RCPT')) {
          // Answered with DATA's.
        } else if (line === 'DATA') {
          inData = true;
          socket.write('250 sender ok\r\n250 recipient ok\r\n354 go ahead\r\n');
        } else if (line === 'QUIT') {
          socket.end('221 bye\r\n');
          return;
        }
      }
    };
    // One drain at a time, so a chunk that lands while replies are being written waits its turn.
    let busy = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      input += chunk.toString('latin1');
      busy = busy.then(drain);
    });
    socket.write('220 raw.test ESMTP\r\n');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as net.AddressInfo;
    const body = makeBody(600, 7);
    const result = await sendRaw({ host: '127.0.0.1', port, connections: 1, messages: 3, body });
    assert.equal(result.sent, 3);
    assert.deepEqual(received, [body, body, body].map((b) => b.toString('latin1')));
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
