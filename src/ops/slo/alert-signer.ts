import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { InstanceSecrets } from '../signing-keys.js';
import { makeWebhookKeyPair, publicKeyOf, signWebhookPayload } from '../../webhooks/webhook-signature.js';

/** Signs a request body as SendGrid signs its Event Webhook: returns the two header values. */
export type PayloadSigner = (payload: string) => { signature: string; timestamp: string };

/** The secret the alert key is kept under in the store, so every process of a cluster signs alike. */
const SECRET_NAME = 'slo-alert-signing-key';

/**
 * SLO alerts are signed exactly as Herald's Event Webhook (src/webhooks/webhook-signature.ts:
 * SendGrid's ECDSA P-256 scheme), so receivers verify both with the same code.
 */
export function ecdsaSigner(privateKey: KeyObject, nowMs: () => number = Date.now): PayloadSigner {
  return (payload) => {
    const timestamp = String(Math.floor(nowMs() / 1000));
    return { signature: signWebhookPayload(privateKey, timestamp, payload), timestamp };
  };
}

/** The alert signing key, made once and kept in the store; with its public half in base64 DER (SPKI). */
export async function loadAlertSigningKey(secrets: InstanceSecrets): Promise<{ privateKey: KeyObject; publicKey: string }> {
  const pem = await secrets.getOrCreate(SECRET_NAME, () => makeWebhookKeyPair().privateKeyPem);
  return { privateKey: createPrivateKey(pem), publicKey: publicKeyOf(pem) };
}
