import type Database from 'better-sqlite3';
import type { DashboardSession, DashboardStore, DashboardUser } from '../../dashboard/dashboard-store.js';

const USER_COLUMNS = 'id, account_id AS accountId, email, password_hash AS passwordHash, created_at AS createdAt';

export class SqliteDashboard implements DashboardStore {
  private readonly stmt;

  constructor(db: Database.Database) {
    this.stmt = {
      insertUser: db.prepare('INSERT OR IGNORE INTO dashboard_users (id, account_id, email, password_hash, created_at) VALUES (?, ?, ?, ?, ?)'),
      userByEmail: db.prepare(`SELECT ${USER_COLUMNS} FROM dashboard_users WHERE email = ?`),
      usersOf: db.prepare(`SELECT ${USER_COLUMNS} FROM dashboard_users WHERE account_id = ? ORDER BY created_at, email`),
      insertSession: db.prepare('INSERT INTO dashboard_sessions (id_hash, user_id, account_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)'),
      session: db.prepare(`SELECT s.id_hash AS idHash, s.user_id AS userId, s.account_id AS accountId, u.email, s.csrf_token AS csrfToken,
          s.created_at AS createdAt, s.expires_at AS expiresAt
        FROM dashboard_sessions s JOIN dashboard_users u ON u.id = s.user_id WHERE s.id_hash = ? AND s.expires_at > ?`),
      deleteSession: db.prepare('DELETE FROM dashboard_sessions WHERE id_hash = ?'),
      deleteExpired: db.prepare('DELETE FROM dashboard_sessions WHERE expires_at <= ?'),
    };
  }

  async createUser(user: DashboardUser): Promise<boolean> {
    return this.stmt.insertUser.run(user.id, user.accountId, user.email, user.passwordHash, user.createdAt).changes === 1;
  }

  async findUserByEmail(email: string): Promise<DashboardUser | null> {
    return (this.stmt.userByEmail.get(email) as DashboardUser | undefined) ?? null;
  }

  async listUsers(accountId: string): Promise<DashboardUser[]> {
    return this.stmt.usersOf.all(accountId) as DashboardUser[];
  }

  async saveSession(s: Omit<DashboardSession, 'email'>): Promise<void> {
    this.stmt.insertSession.run(s.idHash, s.userId, s.accountId, s.csrfToken, s.createdAt, s.expiresAt);
  }

  async findSession(idHash: string, now: number): Promise<DashboardSession | null> {
    return (this.stmt.session.get(idHash, now) as DashboardSession | undefined) ?? null;
  }

  async deleteSession(idHash: string): Promise<void> {
    this.stmt.deleteSession.run(idHash);
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    return this.stmt.deleteExpired.run(now).changes;
  }
}
