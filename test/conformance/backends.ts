import { beforeEach, afterEach } from 'node:test';
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openBackend, type Backend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { tempDataDir } from '../support/test-herald.js';

/** A backend under test: `open` may be called again to reopen the same store (restart). */
export interface BackendUnderTest {
  name: string;
  open(): Promise<Backend>;
  /** Drops everything the backend stored. */
  destroy(): Promise<void>;
}

type Factory = () => BackendUnderTest;

/** The PostgreSQL every test uses (trust auth on this machine and in CI); HERALD_TEST_DATABASE_URL overrides it. */
export const TEST_DATABASE_URL = process.env.HERALD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema of its own for each test, dropped after it: tests never see each other's rows. */
export function freshSchema(): string {
  return `herald_t_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

const FACTORIES: Record<string, Factory> = {
  sqlite: () => {
    const dataDir = tempDataDir();
    return {
      name: 'sqlite',
      open: () => openBackend(loadConfig({ env: {}, overrides: { dataDir } })),
      destroy: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  },
  postgres: () => {
    const schema = freshSchema();
    return {
      name: 'postgres',
      open: () => openBackend(loadConfig({ env: {}, overrides: { backend: 'postgres', databaseUrl: TEST_DATABASE_URL, databaseSchema: schema, databasePoolSize: 8 } })),
      destroy: () => dropSchema(schema),
    };
  },
};

/** The backends every conformance suite runs against; `HERALD_BACKENDS=sqlite` narrows the list. */
export function backendsUnderTest(): [string, Factory][] {
  const wanted = process.env.HERALD_BACKENDS?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted?.filter((w) => !(w in FACTORIES)) ?? [];
  if (unknown.length > 0) throw new Error(`HERALD_BACKENDS names unknown backends: ${unknown.join(', ')}`);
  return Object.entries(FACTORIES).filter(([name]) => !wanted || wanted.includes(name));
}

export interface FreshBackend {
  backend: Backend;
  /** Account "acme". */
  accountId: string;
  /** Account "globex", to show that one account's data never leaks into the other's. */
  otherAccountId: string;
  /** Closes the backend and opens the same store again (a restart); returns the new one. */
  reopen(): Promise<Backend>;
}

/**
 * Registers hooks that open a fresh backend with two accounts before each test of the enclosing
 * suite and destroy it after; `use` receives the new one each time.
 */
export function freshBackendEachTest(make: Factory, use: (fresh: FreshBackend) => void): void {
  let subject: BackendUnderTest;
  let backend: Backend;
  beforeEach(async () => {
    subject = make();
    backend = await subject.open();
    const accountId = (await backend.accounts.createAccount('acme')).id;
    const otherAccountId = (await backend.accounts.createAccount('globex')).id;
    const reopen = async (): Promise<Backend> => {
      await backend.close();
      backend = await subject.open();
      return backend;
    };
    use({ backend, accountId, otherAccountId, reopen });
  });
  afterEach(async () => {
    await backend.close();
    await subject.destroy();
  });
}
