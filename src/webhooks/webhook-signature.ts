import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/**
 * Signed Event Webhook, as SendGrid does it ("Getting Started with the Event Webhook Security
 * Features"): ECDSA over P-256 with SHA-256 of the timestamp header's text followed by the exact
 * bytes of the body; the signature is DER (ASN.1 SEQUENCE of r and s) in base64, and the public key
 * customers verify with is the DER SubjectPublicKeyInfo in base64. SendGrid's own verifier
 * (`@sendgrid/eventwebhook`) accepts what this makes. SLO alerts are signed the same way.
 */
export const SIGNATURE_HEADER = 'X-Twilio-Email-Event-Webhook-Signature';
export const TIMESTAMP_HEADER = 'X-Twilio-Email-Event-Webhook-Timestamp';

export interface WebhookKeyPair {
  /** Base64 DER SubjectPublicKeyInfo: what SendGrid's API returns as `public_key`. */
  publicKey: string;
  /** PKCS#8 PEM; stored sealed, never returned. */
  privateKeyPem: string;
}

/** A fresh P-256 key pair. */
export function makeWebhookKeyPair(): WebhookKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/** The public half of a stored private key, as base64 DER SPKI. */
export function publicKeyOf(privateKeyPem: string): string {
  return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'der' }).toString('base64');
}

/**
 * The signature header's value for `body` sent at `timestamp` (unix seconds, as the timestamp
 * header carries it): base64 DER ECDSA-SHA256 over `timestamp + body`.
 */
export function signWebhookPayload(privateKey: string | KeyObject, timestamp: number | string, body: Buffer | string): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const signed = Buffer.concat([Buffer.from(String(timestamp), 'utf8'), typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
  // dsaEncoding 'der' is Node's default for EC keys; said here because SendGrid's verifiers need DER, not IEEE P1363.
  return sign('sha256', signed, { key, dsaEncoding: 'der' }).toString('base64');
}

/** Both headers of a signed request for `body`, timestamped `nowMs`. */
export function signatureHeaders(privateKey: string | KeyObject, nowMs: number, body: Buffer | string): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return { [SIGNATURE_HEADER]: signWebhookPayload(privateKey, timestamp, body), [TIMESTAMP_HEADER]: timestamp };
}
