import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashing with scrypt (RFC 7914), which is memory-hard: each guess costs 128·N·r bytes of
 * memory as well as time, so GPUs and ASICs gain little over the server. N = 2^15, r = 8, p = 1
 * needs 32 MiB and about 0.1 s per hash: OWASP's Password Storage Cheat Sheet recommends at least
 * N = 2^17 with r = 8 *or* an equivalent cost; 2^15 keeps sign-in fast on small servers and the
 * parameters are stored with each hash, so raising them later only affects new passwords.
 * Format: `scrypt$<log2 N>$<r>$<p>$<salt, base64url>$<hash, base64url>`.
 */
export const SCRYPT_PARAMS = { log2N: 15, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const;

/** Longest password accepted, characters: scrypt hashes anything, but a 1 MB one is an attack on CPU. */
export const MAX_PASSWORD_LENGTH = 1024;
/** Shortest password `herald users add` accepts. */
export const MIN_PASSWORD_LENGTH = 10;

function derive(password: string, salt: Buffer, log2N: number, r: number, p: number, keyBytes: number): Promise<Buffer> {
  const N = 2 ** log2N;
  // maxmem must exceed 128·N·r (Node's default of 32 MiB is exactly the cost, so it is raised).
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const { log2N, r, p, saltBytes, keyBytes } = SCRYPT_PARAMS;
  const salt = randomBytes(saltBytes);
  const key = await derive(password, salt, log2N, r, p, keyBytes);
  return `scrypt$${log2N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Parses a stored hash; null when it is not one this code made (parameters kept within sane bounds). */
function parse(stored: string): { log2N: number; r: number; p: number; salt: Buffer; key: Buffer } | null {
  const m = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{16,128})\$([A-Za-z0-9_-]{16,128})$/.exec(stored);
  if (!m) return null;
  const [log2N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (log2N < 10 || log2N > 20 || r < 1 || r > 32 || p < 1 || p > 16) return null;
  return { log2N, r, p, salt: Buffer.from(m[4]!, 'base64url'), key: Buffer.from(m[5]!, 'base64url') };
}

/** A hash of a random password with the current parameters, checked when no user matches. */
let decoy: Promise<string> | undefined;

/**
 * Whether `password` matches `stored`; compares in constant time. With `stored` null (no such
 * user) it hashes against a decoy anyway, so an unknown address takes as long as a wrong password.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  const parsed = parse(stored ?? (await decoy));
  if (!parsed) {
    // A corrupt stored hash: still spend the time, then refuse.
    await verifyPassword(password, null);
    return false;
  }
  const key = await derive(password, parsed.salt, parsed.log2N, parsed.r, parsed.p, parsed.key.length);
  return timingSafeEqual(key, parsed.key) && stored !== null;
}
