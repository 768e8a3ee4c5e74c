import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DashboardSession, DashboardStore, DashboardUser } from './dashboard-store.js';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'herald_session';
/** Header the browser repeats the CSRF token in (OWASP CSRF Cheat Sheet: synchronizer token pattern). */
export const CSRF_HEADER = 'x-csrf-token';

/** Session ids are 32 random bytes, base64url: 43 characters. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export const hashSessionId = (id: string): string => createHash('sha256').update(id).digest('hex');

export interface NewSession {
  /** Goes into the cookie; never stored. */
  id: string;
  session: DashboardSession;
}

/** Starts a session for `user` lasting `ttlMs` from `now`. */
export async function startSession(store: DashboardStore, user: DashboardUser, now: number, ttlMs: number): Promise<NewSession> {
  const id = randomBytes(32).toString('base64url');
  const session: DashboardSession = {
    idHash: hashSessionId(id),
    userId: user.id,
    accountId: user.accountId,
    email: user.email,
    csrfToken: randomBytes(32).toString('base64url'),
    createdAt: now,
    expiresAt: now + ttlMs,
  };
  const { email: _email, ...stored } = session;
  await store.saveSession(stored);
  return { id, session };
}

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4), or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (typeof header !== 'string' || header.length > 8192) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The live session a Cookie header names, or null (absent, malformed, unknown or expired). */
export async function sessionFromCookie(store: DashboardStore, cookieHeader: string | undefined, now: number): Promise<{ id: string; session: DashboardSession } | null> {
  const id = readCookie(cookieHeader, SESSION_COOKIE);
  if (id === null || !SESSION_ID.test(id)) return null;
  const session = await store.findSession(hashSessionId(id), now);
  return session ? { id, session } : null;
}

/** Whether `given` (the X-CSRF-Token header) is the session's token; constant time. */
export function csrfMatches(session: DashboardSession, given: unknown): boolean {
  if (typeof given !== 'string' || given.length === 0 || given.length > 128) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Requests that change nothing (RFC 9110 §9.2.1 safe methods) need no CSRF token. */
export const isSafeMethod = (method: string): boolean => method === 'GET' || method === 'HEAD' || method === 'OPTIONS';

/**
 * The Set-Cookie value: HttpOnly (no script reads it), SameSite=Strict (no other site's page
 * sends it, RFC 6265bis §5.4.7), Secure when the browser reached Herald over https, Path=/ since
 * the API it authenticates lives under /v3 and /v1. `maxAgeS` 0 deletes the cookie.
 */
export function sessionCookie(value: string, maxAgeS: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}
