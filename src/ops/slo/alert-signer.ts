import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { InstanceSecrets } from '../signing-keys.js';

/** Signs a request body as SendGrid signs its Event Webhook: returns the two header values. */
export type PayloadSigner = (payload: string) => { signature: string; timestamp: string };

/** The secret the alert key is kept under in the store, so every process of a cluster signs alike. */
const SECRET_NAME = 'slo-alert-signing-key';

/**
 * SendGrid's signed Event Webhook scheme: ECDSA P-256 with SHA-256 over the Unix timestamp (in
 * seconds, as text) followed by the body; the DER signature in base64 goes in
 * `X-Twilio-Email-Event-Webhook-Signature`, the timestamp in `...-Timestamp`. A receiver verifies
 * with the public key (base64 DER, as SendGrid shows it), e.g. through @sendgrid/eventwebhook.
 * https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
 */
export function ecdsaSigner(privateKey: KeyObject, nowMs: () => number = Date.now): PayloadSigner {
  return (payload) => {
    const timestamp = String(Math.floor(nowMs() / 1000));
    const signature = sign('sha256', Buffer.from(timestamp + payload, 'utf8'), privateKey).toString('base64');
    return { signature, timestamp };
  };
}

/** The alert signing key, made once and kept in the store; with its public half in base64 DER (SPKI). */
export async function loadAlertSigningKey(secrets: InstanceSecrets): Promise<{ privateKey: KeyObject; publicKey: string }> {
  const pem = await secrets.getOrCreate(SECRET_NAME, () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
  return { privateKey, publicKey };
}
