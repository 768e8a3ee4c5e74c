import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csrfMatches, hashSessionId, isSafeMethod, readCookie, sessionCookie } from '../../src/dashboard/sessions.js';
import { LoginLimiter } from '../../src/dashboard/login-limiter.js';
import type { DashboardSession } from '../../src/dashboard/dashboard-store.js';

const session: DashboardSession = { idHash: 'x', userId: 'u', accountId: 'a', email: 'e@example.com', csrfToken: 'Z'.repeat(43), createdAt: 0, expiresAt: 1 };

test('the session cookie is HttpOnly, SameSite=Strict, on every path, and Secure only over https', () => {
  const plain = sessionCookie('abc', 3600, false);
  assert.equal(plain, 'herald_session=abc; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict');
  assert.match(sessionCookie('abc', 3600, true), /; Secure$/);
  assert.match(sessionCookie('', 0, false), /Max-Age=0/);
});

test('the session id is read from a Cookie header among others, and nothing from a hostile one', () => {
  assert.equal(readCookie('a=1; herald_session=abc; b=2', 'herald_session'), 'abc');
  assert.equal(readCookie('herald_session_x=1', 'herald_session'), null);
  assert.equal(readCookie(undefined, 'herald_session'), null);
  assert.equal(readCookie('herald_session=' + 'a'.repeat(10_000), 'herald_session'), null, 'oversized');
});

test('the stored session key is a SHA-256 of the id, not the id', () => {
  assert.equal(hashSessionId('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('the CSRF token must be given exactly; safe methods need none', () => {
  assert.equal(csrfMatches(session, 'Z'.repeat(43)), true);
  assert.equal(csrfMatches(session, 'Z'.repeat(42)), false);
  assert.equal(csrfMatches(session, 'Y'.repeat(43)), false);
  assert.equal(csrfMatches(session, undefined), false);
  assert.equal(csrfMatches(session, ''), false);
  assert.equal(csrfMatches(session, ['Z'.repeat(43)]), false, 'a repeated header is not a token');
  assert.deepEqual(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'].map(isSafeMethod), [true, true, true, false, false, false, false]);
});

test('sign-in failures lock a key for the rest of the window, and a success clears the address', () => {
  let now = 0;
  const limiter = new LoginLimiter(3, 1000, () => now);
  const keys = ['email:a', 'ip:1'];
  limiter.fail(keys);
  limiter.fail(keys);
  assert.equal(limiter.lockedFor(keys), 0);
  now = 100;
  limiter.fail(keys);
  assert.equal(limiter.lockedFor(keys), 900);
  assert.equal(limiter.lockedFor(['email:b', 'ip:1']), 900, 'the IP is locked for other addresses too');
  now = 1000;
  assert.equal(limiter.lockedFor(keys), 0, 'the window has passed');
  limiter.fail(keys);
  limiter.succeed('email:a');
  limiter.fail(keys);
  limiter.fail(keys);
  assert.equal(limiter.lockedFor(['email:a']), 0);
  assert.ok(limiter.lockedFor(['ip:1']) > 0);
});

test('the limiter forgets its oldest entries past its bound', () => {
  const limiter = new LoginLimiter(1, 1000, () => 0, 3);
  for (const k of ['a', 'b', 'c', 'd']) limiter.fail([k]);
  assert.equal(limiter.lockedFor(['a']), 0);
  assert.equal(limiter.lockedFor(['d']), 1000);
});
