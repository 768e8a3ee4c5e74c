import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { HeraldError } from '../errors.js';

/** Turns a private key into what is stored, and back. */
export interface KeySealer {
  seal(pem: string): string;
  open(stored: string): string;
}

const PREFIX = 'sealed:v1:';
const IV_BYTES = 12; // NIST SP 800-38D §8.2: 96-bit IVs for GCM

/**
 * AES-256-GCM with the 32-byte key from `dkimKeyEncryptionKey` (base64 or hex) and a fresh random
 * IV per key; the tag makes a wrong key or a damaged value fail loudly. Without a configured key, keys are stored as plain PEM (the database file's
 * permissions are then their only protection) and sealed ones cannot be opened.
 */
export function keySealer(secret: string | null): KeySealer {
  const key = secret === null ? null : parseKey(secret);
  return {
    seal(pem) {
      if (!key) return pem;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
      return `${PREFIX}${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${data.toString('base64')}`;
    },
    open(stored) {
      if (!stored.startsWith(PREFIX)) return stored;
      if (!key) throw new HeraldError('HERALD_ERR_DKIM_KEY_SEALED', { message: 'A DKIM private key is encrypted and dkimKeyEncryptionKey is not set.' });
      const [iv, tag, data] = stored.slice(PREFIX.length).split(':');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64'));
        decipher.setAuthTag(Buffer.from(tag ?? '', 'base64'));
        return Buffer.concat([decipher.update(Buffer.from(data ?? '', 'base64')), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw new HeraldError('HERALD_ERR_DKIM_KEY_SEALED', { message: 'A DKIM private key cannot be decrypted with the configured dkimKeyEncryptionKey.', cause });
      }
    },
  };
}

/** 32 bytes as 64 hex digits or as base64 (44 characters). */
export function parseKey(secret: string): Buffer {
  const bytes = /^[0-9a-fA-F]{64}$/.test(secret) ? Buffer.from(secret, 'hex') : /^[A-Za-z0-9+/]{43}=$/.test(secret) ? Buffer.from(secret, 'base64') : null;
  if (!bytes || bytes.length !== 32) {
    throw new HeraldError('HERALD_ERR_CONFIG', { message: 'The key must be 32 bytes as 64 hex digits or 44 base64 characters (make one: openssl rand -base64 32)' });
  }
  return bytes;
}
