import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFailure } from '../../src/delivery/classify-reply.js';
import { DeliveryError, parseEnhancedStatus } from '../../src/delivery/delivery-error.js';

const reply = (code: number | null, response: string) => new DeliveryError(response, { replyCode: code, response });

test('4xx replies defer', () => {
  for (const [code, text] of [[421, '421 4.7.0 Try again later'], [450, '450 4.2.1 Mailbox busy'], [451, '451 4.3.0 Local error'], [452, '452 4.5.3 Too many recipients']] as const) {
    assert.deepEqual(classifyFailure(reply(code, text)), { kind: 'deferred', response: text });
  }
});

test('connection failures without a reply defer', () => {
  assert.equal(classifyFailure(reply(null, 'ECONNREFUSED connect ECONNREFUSED 127.0.0.1:25')).kind, 'deferred');
  assert.equal(classifyFailure(new Error('socket hang up')).kind, 'deferred');
  assert.equal(classifyFailure('weird').kind, 'deferred');
});

test('5xx about the address bounces as type bounce with the enhanced status (RFC 3463 x.1.x, x.2.x)', () => {
  assert.deepEqual(classifyFailure(reply(550, '550 5.1.1 User unknown')), { kind: 'bounced', bounceType: 'bounce', status: '5.1.1', response: '550 5.1.1 User unknown' });
  assert.deepEqual(classifyFailure(reply(552, '552 5.2.2 Mailbox full')), { kind: 'bounced', bounceType: 'bounce', status: '5.2.2', response: '552 5.2.2 Mailbox full' });
});

test('5xx for policy, content or security bounces as type blocked', () => {
  const out = classifyFailure(reply(554, '554 5.7.1 Message rejected as spam'));
  assert.equal(out.kind, 'bounced');
  assert.equal(out.kind === 'bounced' && out.bounceType, 'blocked');
  assert.equal(out.kind === 'bounced' && out.status, '5.7.1');
});

test('a 5xx without an enhanced status bounces with 5.0.0', () => {
  const out = classifyFailure(reply(550, '550 Rejected'));
  assert.equal(out.kind === 'bounced' && out.status, '5.0.0');
});

test('a 4xx code wins over a contradicting 5.x.x enhanced status', () => {
  assert.equal(classifyFailure(reply(451, '451 5.7.1 greylisted')).kind, 'deferred');
});

test('enhanced status codes are read from single and multi-line replies', () => {
  assert.equal(parseEnhancedStatus('250 2.0.0 Ok: queued'), '2.0.0');
  assert.equal(parseEnhancedStatus('550-5.1.1 The email account does not exist'), '5.1.1');
  assert.equal(parseEnhancedStatus('550 User unknown'), null);
  assert.equal(parseEnhancedStatus(''), null);
});
