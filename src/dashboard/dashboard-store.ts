/** A person who signs in to the dashboard; belongs to one account and acts with every scope in it. */
export interface DashboardUser {
  id: string;
  accountId: string;
  /** Lower-cased; unique across the installation, so signing in needs no account name. */
  email: string;
  /** `scrypt$…` as made by `hashPassword` (src/dashboard/passwords.ts); never the password. */
  passwordHash: string;
  createdAt: number;
}

/** A signed-in browser. The cookie holds the id; the store holds only its SHA-256. */
export interface DashboardSession {
  /** SHA-256 (hex) of the session id the cookie carries. */
  idHash: string;
  userId: string;
  accountId: string;
  email: string;
  /** Synchronizer token the browser repeats in `X-CSRF-Token` on every state-changing request. */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

/** The dashboard port: users and their server-side sessions. */
export interface DashboardStore {
  /** Returns false when a user with this email exists already. */
  createUser(user: DashboardUser): Promise<boolean>;
  findUserByEmail(email: string): Promise<DashboardUser | null>;
  listUsers(accountId: string): Promise<DashboardUser[]>;
  saveSession(session: Omit<DashboardSession, 'email'>): Promise<void>;
  /** The session with this id hash, or null when unknown or expired at `now`. */
  findSession(idHash: string, now: number): Promise<DashboardSession | null>;
  deleteSession(idHash: string): Promise<void>;
  /** Removes sessions expired at `now`; returns how many. */
  deleteExpiredSessions(now: number): Promise<number>;
}
