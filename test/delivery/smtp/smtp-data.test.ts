import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeData } from '../../../src/delivery/smtp/smtp-data.js';

const wire = (s: string): string => encodeData(Buffer.from(s, 'latin1')).toString('latin1');

test('a clean CRLF message goes as it is, its last CRLF starting the terminator', () => {
  assert.equal(wire('Subject: a\r\n\r\nbody\r\n'), 'Subject: a\r\n\r\nbody\r\n.\r\n');
});

test('a message without a final line break gets one before the terminator', () => {
  assert.equal(wire('Subject: a\r\n\r\nbody'), 'Subject: a\r\n\r\nbody\r\n.\r\n');
});

test('lines starting with a dot get one more, the first line and a lone dot included (RFC 5321 §4.5.2)', () => {
  assert.equal(wire('.first\r\nmid\r\n.\r\n..two\r\nlast.\r\n'), '..first\r\nmid\r\n..\r\n...two\r\nlast.\r\n.\r\n');
});

test('bare LF and bare CR become CRLF, dot-stuffing still applies after them', () => {
  assert.equal(wire('a\nb\r\n.c\n.d\re\r'), 'a\r\nb\r\n..c\r\n..d\r\ne\r\n.\r\n');
  assert.equal(wire('\n.\n'), '\r\n..\r\n.\r\n');
});

test('an empty message is just the terminator', () => {
  assert.equal(wire(''), '.\r\n');
});

test('8-bit bytes pass untouched', () => {
  const body = Buffer.from('Subject: =?utf-8?q?x?=\r\n\r\nGrüße, 日本語\r\n', 'utf8');
  assert.ok(encodeData(body).equals(Buffer.concat([body, Buffer.from('.\r\n')])));
});
