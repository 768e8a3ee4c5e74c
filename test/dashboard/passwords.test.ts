import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword, SCRYPT_PARAMS } from '../../src/dashboard/passwords.js';

test('a password hash names scrypt and its parameters, with a fresh salt each time', async () => {
  const a = await hashPassword('correct horse battery staple');
  const b = await hashPassword('correct horse battery staple');
  assert.match(a, new RegExp(`^scrypt\\$${SCRYPT_PARAMS.log2N}\\$${SCRYPT_PARAMS.r}\\$${SCRYPT_PARAMS.p}\\$[A-Za-z0-9_-]{22}\\$[A-Za-z0-9_-]{43}$`));
  assert.notEqual(a, b, 'salted');
  assert.ok(!a.includes('correct'), 'the password itself is nowhere in it');
});

test('the right password verifies, a wrong or differently normalised-away one does not', async () => {
  const stored = await hashPassword('pässwörd-long-enough');
  assert.equal(await verifyPassword('pässwörd-long-enough', stored), true);
  // NFC and NFD spellings of the same text are the same password (RFC 8265 §4.2 normalises to NFC).
  assert.equal(await verifyPassword('pässwörd-long-enough'.normalize('NFD'), stored), true);
  assert.equal(await verifyPassword('passwort-long-enough', stored), false);
  assert.equal(await verifyPassword('', stored), false);
});

test('no stored hash (unknown user) and a corrupt one both refuse, after hashing all the same', async () => {
  assert.equal(await verifyPassword('anything at all', null), false);
  assert.equal(await verifyPassword('anything at all', 'not-a-hash'), false);
  assert.equal(await verifyPassword('anything at all', 'scrypt$40$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), false, 'absurd parameters are refused, not run');
});
