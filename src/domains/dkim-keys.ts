import { generateKeyPairSync } from 'node:crypto';
import type { NewDkimKey } from './domain-store.js';

/** RSA modulus length, bits: RFC 8301 §3.2 asks for at least 1024 and verifiers for up to 4096. */
export const RSA_BITS = 2048;

/** Each key's selector: one TXT record per name, so RSA and Ed25519 need their own. */
export function keySelector(base: string, algorithm: NewDkimKey['algorithm']): string {
  return algorithm === 'rsa-sha256' ? `${base}r` : `${base}e`;
}

/** A fresh RSA 2048 and Ed25519 (RFC 8463) pair for a domain, both published under `base`. */
export function generateDkimKeys(base: string): NewDkimKey[] {
  const rsa = generateKeyPairSync('rsa', { modulusLength: RSA_BITS });
  const ed = generateKeyPairSync('ed25519');
  return [
    {
      algorithm: 'rsa-sha256',
      selector: keySelector(base, 'rsa-sha256'),
      // RFC 6376 §3.6.1: p= is base64 of the DER public key; SubjectPublicKeyInfo is what verifiers read.
      publicKey: rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      privateKeyPem: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    },
    {
      algorithm: 'ed25519-sha256',
      selector: keySelector(base, 'ed25519-sha256'),
      // RFC 8463 §4.2: p= is the bare 32-byte public key, the last 32 bytes of its SPKI DER.
      publicKey: ed.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64'),
      privateKeyPem: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    },
  ];
}

/** `herald` and the year and month, e.g. `herald2611`: a new key next year gets a new selector. */
export function defaultSelector(now = new Date()): string {
  return `herald${String(now.getUTCFullYear() % 100).padStart(2, '0')}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}
