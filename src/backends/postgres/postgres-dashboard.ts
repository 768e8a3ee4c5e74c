import type { DashboardSession, DashboardStore, DashboardUser } from '../../dashboard/dashboard-store.js';
import type { PgDatabase } from './pg-database.js';

const USER_COLUMNS = 'id, account_id AS "accountId", email, password_hash AS "passwordHash", created_at AS "createdAt"';

export class PostgresDashboard implements DashboardStore {
  constructor(private readonly db: PgDatabase) {}

  async createUser(user: DashboardUser): Promise<boolean> {
    const rows = await this.db.query(
      'INSERT INTO dashboard_users (id, account_id, email, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING RETURNING id',
      [user.id, user.accountId, user.email, user.passwordHash, user.createdAt],
    );
    return rows.length === 1;
  }

  async findUserByEmail(email: string): Promise<DashboardUser | null> {
    const [row] = await this.db.query<DashboardUser>(`SELECT ${USER_COLUMNS} FROM dashboard_users WHERE email = $1`, [email]);
    return row ?? null;
  }

  async listUsers(accountId: string): Promise<DashboardUser[]> {
    return this.db.query<DashboardUser>(`SELECT ${USER_COLUMNS} FROM dashboard_users WHERE account_id = $1 ORDER BY created_at, email`, [accountId]);
  }

  async saveSession(s: Omit<DashboardSession, 'email'>): Promise<void> {
    await this.db.query('INSERT INTO dashboard_sessions (id_hash, user_id, account_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      s.idHash,
      s.userId,
      s.accountId,
      s.csrfToken,
      s.createdAt,
      s.expiresAt,
    ]);
  }

  async findSession(idHash: string, now: number): Promise<DashboardSession | null> {
    const [row] = await this.db.query<DashboardSession>(
      `SELECT s.id_hash AS "idHash", s.user_id AS "userId", s.account_id AS "accountId", u.email, s.csrf_token AS "csrfToken",
          s.created_at AS "createdAt", s.expires_at AS "expiresAt"
        FROM dashboard_sessions s JOIN dashboard_users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2`,
      [idHash, now],
    );
    return row ?? null;
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.query('DELETE FROM dashboard_sessions WHERE id_hash = $1', [idHash]);
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    const rows = await this.db.query('DELETE FROM dashboard_sessions WHERE expires_at <= $1 RETURNING id_hash', [now]);
    return rows.length;
  }
}
