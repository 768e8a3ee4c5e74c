import { randomBytes } from 'node:crypto';
import { HeraldError } from '../errors.js';
import type { DashboardStore, DashboardUser } from './dashboard-store.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hashPassword } from './passwords.js';

/** An address as users are keyed: trimmed and lower-cased; null when it is not `local@domain` of sane length. */
export function normaliseEmail(raw: string): string | null {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !/^[^\s@<>()",;:\\[\]\0-\x1f\x7f]+@[^\s@<>()",;:\\[\]\0-\x1f\x7f]+\.[^\s@<>()",;:\\[\]\0-\x1f\x7f]+$/.test(email)) return null;
  return email;
}

/** Adds a dashboard user to `accountId`; refuses a bad address, a short or long password, or an address in use. */
export async function addDashboardUser(store: DashboardStore, accountId: string, rawEmail: string, password: string): Promise<DashboardUser> {
  const email = normaliseEmail(rawEmail);
  if (email === null) throw new HeraldError('HERALD_ERR_INVALID_EMAIL', { field: 'email', message: `"${rawEmail.slice(0, 100)}" is not an email address.` });
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'password', message: `The password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long.` });
  }
  const user: DashboardUser = { id: randomBytes(12).toString('base64url'), accountId, email, passwordHash: await hashPassword(password), createdAt: Date.now() };
  if (!(await store.createUser(user))) throw new HeraldError('HERALD_ERR_DUPLICATE_USER', { field: 'email' });
  return user;
}
