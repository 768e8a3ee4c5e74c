import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SigningKeys } from '../../src/ops/signing-keys.js';
import { ReturnPaths } from '../../src/inbound/return-path.js';
import { newId } from '../../src/message/expand.js';

const keys = new SigningKeys(randomBytes(32));
const paths = new ReturnPaths(keys, 'Bounces.Example.com');

test('a return path names its message in a local part of at most 64 octets, safe and lower case', () => {
  for (const index of [0, 1, 127, 128, 999, 16383, 2_000_000]) {
    const messageId = `${newId()}.${index}`;
    const address = paths.addressFor(messageId)!;
    const [local, domain] = address.split('@');
    assert.equal(domain, 'bounces.example.com');
    assert.ok(local!.length <= 64, `${local} is ${local!.length} octets`);
    // RFC 5321 §4.1.2 atext without anything a shell, a URL or a case-folding MTA would change.
    assert.match(local!, /^bounces\+[a-z2-7]+$/);
    assert.deepEqual(paths.parse(address), { kind: 'token', messageId });
    // Some MTAs upper- or lower-case the local part: the token survives both.
    assert.deepEqual(paths.parse(address.toUpperCase()), { kind: 'token', messageId });
  }
});

test('ids with a leading zero and the largest base62 id round-trip', () => {
  for (const id of ['0000000000000000000000.0', 'zzzzzzzzzzzzzzzzzzzzzz.5', '0A0a0A0a0A0a0A0a0A0a0z.12']) {
    assert.deepEqual(paths.parse(paths.addressFor(id)!), { kind: 'token', messageId: id });
  }
});

test('a token with a changed character, in any position, or made under another key does not verify', () => {
  const address = paths.addressFor(`${newId()}.0`)!;
  const local = address.split('@')[0]!;
  const last = local.at(-1) === 'a' ? 'b' : 'a';
  assert.deepEqual(paths.parse(`${local.slice(0, -1)}${last}@bounces.example.com`), { kind: 'forged' });
  for (let i = 'bounces+'.length; i < local.length; i++) {
    const flipped = local.slice(0, i) + (local[i] === 'q' ? 'r' : 'q') + local.slice(i + 1);
    assert.deepEqual(paths.parse(`${flipped}@bounces.example.com`), { kind: 'forged' }, `position ${i}`);
  }
  assert.deepEqual(new ReturnPaths(new SigningKeys(randomBytes(32)), 'bounces.example.com').parse(address), { kind: 'forged' });
  assert.deepEqual(paths.parse('bounces+@bounces.example.com'), { kind: 'forged' });
  assert.deepEqual(paths.parse('bounces+0189!!@bounces.example.com'), { kind: 'forged' });
  assert.deepEqual(paths.parse(`bounces+${'a'.repeat(200)}@bounces.example.com`), { kind: 'forged' });
});

test('other domains are foreign, other local parts are plain mailboxes', () => {
  const address = paths.addressFor(`${newId()}.0`)!;
  assert.deepEqual(paths.parse(address.replace('bounces.example.com', 'example.org')), { kind: 'foreign' });
  assert.deepEqual(paths.parse('Postmaster@BOUNCES.example.com'), { kind: 'mailbox', localPart: 'postmaster' });
  assert.deepEqual(paths.parse('no-at-sign'), { kind: 'foreign' });
  assert.deepEqual(paths.parse(''), { kind: 'foreign' });
});

test('an id not of Herald\'s shape gets no return path (the From address is used)', () => {
  assert.equal(paths.addressFor('not-a-herald-id'), null);
  assert.equal(paths.addressFor(`${newId()}`), null);
});
