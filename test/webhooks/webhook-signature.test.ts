import { test } from 'node:test';
import assert from 'node:assert/strict';
import sendgrid from '@sendgrid/eventwebhook';
import { makeWebhookKeyPair, publicKeyOf, signatureHeaders, signWebhookPayload, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../src/webhooks/webhook-signature.js';

const { EventWebhook, EventWebhookHeader } = sendgrid;

test("SendGrid's own verifier accepts Herald's signature over timestamp and the exact body", () => {
  const keys = makeWebhookKeyPair();
  const body = '[{"email":"ann@example.com","event":"processed","sg_event_id":"e1","note":"caf\u00e9 \u2713"}]';
  const headers = signatureHeaders(keys.privateKeyPem, 1_767_225_600_000, Buffer.from(body));
  assert.equal(headers[TIMESTAMP_HEADER], '1767225600');
  const verifier = new EventWebhook();
  const key = verifier.convertPublicKeyToECDSA(keys.publicKey);
  assert.equal(verifier.verifySignature(key, body, headers[SIGNATURE_HEADER]!, headers[TIMESTAMP_HEADER]!), true);
  assert.equal(SIGNATURE_HEADER, EventWebhookHeader.SIGNATURE());
  assert.equal(TIMESTAMP_HEADER, EventWebhookHeader.TIMESTAMP());
});

test('a changed body, timestamp or key fails verification', () => {
  const keys = makeWebhookKeyPair();
  const body = '[{"event":"delivered"}]';
  const signature = signWebhookPayload(keys.privateKeyPem, '1700000000', body);
  const verifier = new EventWebhook();
  const key = verifier.convertPublicKeyToECDSA(keys.publicKey);
  assert.equal(verifier.verifySignature(key, body, signature, '1700000000'), true);
  assert.equal(verifier.verifySignature(key, body.replace('delivered', 'bounce'), signature, '1700000000'), false);
  assert.equal(verifier.verifySignature(key, body, signature, '1700000001'), false);
  const other = verifier.convertPublicKeyToECDSA(makeWebhookKeyPair().publicKey);
  assert.equal(verifier.verifySignature(other, body, signature, '1700000000'), false);
});

test('the public key is base64 DER SPKI of a P-256 key, derivable from the stored private key', () => {
  const keys = makeWebhookKeyPair();
  assert.match(keys.publicKey, /^MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE[A-Za-z0-9+/]+=*$/);
  assert.equal(publicKeyOf(keys.privateKeyPem), keys.publicKey);
});
