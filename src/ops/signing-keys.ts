import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseKey } from '../domains/key-sealing.js';

/** Secrets Herald makes for itself and keeps in the store, shared by every process on it. */
export interface InstanceSecrets {
  /** The secret stored under `name`; the first caller's `make()` wins, every later one reads it. */
  getOrCreate(name: string, make: () => string): Promise<string>;
}

/** What each derived key signs; a key made for one purpose never verifies another's tokens. */
export type SigningPurpose = 'tracking' | 'return-path';

/** HMAC keys for links and return paths, each derived (HKDF-SHA256, RFC 5869) from one root key. */
export class SigningKeys {
  private readonly keys = new Map<SigningPurpose, Buffer>();

  constructor(private readonly root: Buffer) {}

  /** The root from `signingKey`, or the one kept in the store (made on first start). */
  static async load(configured: string | null, secrets: InstanceSecrets): Promise<SigningKeys> {
    if (configured !== null) return new SigningKeys(parseKey(configured));
    const stored = await secrets.getOrCreate('signing-root', () => randomBytes(32).toString('base64'));
    return new SigningKeys(Buffer.from(stored, 'base64'));
  }

  key(purpose: SigningPurpose): Buffer {
    let key = this.keys.get(purpose);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', this.root, Buffer.alloc(0), `herald ${purpose}`, 32));
      this.keys.set(purpose, key);
    }
    return key;
  }

  /** HMAC-SHA256 of `data` under the purpose's key, truncated to `bytes` (at least 10, RFC 2104 §5). */
  sign(purpose: SigningPurpose, data: string | Buffer, bytes = 16): Buffer {
    return createHmac('sha256', this.key(purpose)).update(data).digest().subarray(0, Math.max(10, bytes));
  }

  /** Whether `mac` is sign(purpose, data, mac.length), compared in constant time. */
  verify(purpose: SigningPurpose, data: string | Buffer, mac: Buffer): boolean {
    if (mac.length < 10 || mac.length > 32) return false;
    return timingSafeEqual(this.sign(purpose, data, mac.length), mac);
  }
}
