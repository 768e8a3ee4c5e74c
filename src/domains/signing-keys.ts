import type { DkimSigningKey, DomainStore } from './domain-store.js';

/** How long a lookup is reused, ms: a domain validated or deleted elsewhere (the CLI) shows within this. */
export const SIGNING_KEY_CACHE_MS = 60 * 1000;
const MAX_CACHED = 10_000; // entries per store

interface Cached {
  keys: DkimSigningKey[];
  until: number;
}

const caches = new WeakMap<DomainStore, Map<string, Cached>>();

/**
 * The keys to sign a message from `fromEmail` with: those of the account's valid sending domain
 * that is the From domain or its nearest parent (mail.example.com signs as example.com), else [].
 * Reused for SIGNING_KEY_CACHE_MS; `forgetSigningKeys` drops an account's entries at once.
 */
export async function signingKeysFor(store: DomainStore, accountId: string, fromEmail: string, now = Date.now()): Promise<DkimSigningKey[]> {
  const at = fromEmail.lastIndexOf('@');
  const fromDomain = fromEmail.slice(at + 1).trim().toLowerCase().replace(/\.$/, '');
  if (at < 1 || !fromDomain.includes('.')) return [];
  let cache = caches.get(store);
  if (!cache) caches.set(store, (cache = new Map()));
  const cacheKey = `${accountId}\n${fromDomain}`;
  const hit = cache.get(cacheKey);
  if (hit && hit.until > now) return hit.keys;
  let keys: DkimSigningKey[] = [];
  // RFC 7489 §3.1.1 relaxed alignment: d= may be the From domain or a parent of it, never a bare TLD.
  const labels = fromDomain.split('.');
  for (let i = 0; i < labels.length - 1 && keys.length === 0; i++) {
    keys = await store.signingKeys(accountId, labels.slice(i).join('.'));
  }
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(cacheKey, { keys, until: now + SIGNING_KEY_CACHE_MS });
  return keys;
}

/** Drops the cached keys of one account, after its domains changed in this process. */
export function forgetSigningKeys(store: DomainStore, accountId: string): void {
  const cache = caches.get(store);
  if (!cache) return;
  for (const key of cache.keys()) if (key.startsWith(`${accountId}\n`)) cache.delete(key);
}
