import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SigningKeys } from '../../src/ops/signing-keys.js';
import { decodeToken, encodeToken, type ClickToken } from '../../src/tracking/tracking-token.js';

const keys = new SigningKeys(Buffer.alloc(32, 1));
const now = Date.UTC(2026, 0, 1);
const YEAR = 365 * 24 * 3600;
const click: ClickToken = { kind: 'click', accountId: 'acct-1', messageId: 'req.0', issuedAt: now / 1000, index: 3, part: 'html', url: 'https://example.com/a?b=c' };

test('a click token round-trips with its account, message, link place and URL, and stays compact', () => {
  const text = encodeToken(keys, click);
  assert.match(text, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeToken(keys, text, 'click', YEAR, now), click);
  const open = encodeToken(keys, { kind: 'open', accountId: 'acct-1', messageId: 'req.0', issuedAt: now / 1000 });
  assert.ok(open.length < 80, `open token of ${open.length} characters`);
});

test('forged, truncated, altered, expired and other-kind tokens are refused', () => {
  const text = encodeToken(keys, click);
  assert.equal(decodeToken(new SigningKeys(Buffer.alloc(32, 2)), text, 'click', YEAR, now), 'forged');
  assert.equal(decodeToken(keys, text.slice(0, -4), 'click', YEAR, now), 'forged');
  assert.equal(decodeToken(keys, text.slice(0, 8), 'click', YEAR, now), 'malformed');
  // The URL changed inside the token: the MAC no longer matches.
  const bytes = Buffer.from(text, 'base64url');
  const at = bytes.indexOf('example.com');
  bytes[at] = 'E'.charCodeAt(0);
  assert.equal(decodeToken(keys, bytes.toString('base64url'), 'click', YEAR, now), 'forged');
  assert.equal(decodeToken(keys, text, 'click', YEAR, now + (YEAR + 60) * 1000), 'expired');
  assert.equal(decodeToken(keys, text, 'unsubscribe', YEAR, now), 'wrong-kind');
  assert.equal(decodeToken(keys, text + '!', 'click', YEAR, now), 'malformed');
  assert.equal(decodeToken(keys, 'A'.repeat(10_000), 'click', YEAR, now), 'malformed');
});
