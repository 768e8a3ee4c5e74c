import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHerald, type RunningHerald } from '../../src/herald.js';
import { loadConfig } from '../../src/config/load.js';
import type { HeraldConfig } from '../../src/config/settings.js';
import { createApiKey } from '../../src/accounts/api-keys.js';
import { SCOPES, type Scope } from '../../src/accounts/scopes.js';

export interface TestHerald extends RunningHerald {
  /** The full-access key of the default account. */
  apiKey: string;
  dataDir: string;
  /** Makes another account with a key holding `scopes` (default: all). */
  newAccount(name: string, scopes?: Scope[]): Promise<{ accountId: string; apiKey: string }>;
  /** Makes a key for the default account. */
  newKey(scopes: Scope[]): Promise<string>;
  /** fetch against the API with the default key unless headers say otherwise. */
  api(path: string, init?: RequestInit & { json?: unknown; key?: string | null }): Promise<Response>;
  /** Stops the server and removes its data directory. */
  close(): Promise<void>;
}

/** Makes a fresh temporary data directory. */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'herald-test-'));
}

/**
 * A real Herald on port 0 with a fresh SQLite data directory and silent logs. Tests pass the
 * settings they care about (relay URL, retry timings).
 */
export async function startTestHerald(overrides: Partial<HeraldConfig> = {}, options: { keepDataDir?: boolean; dataDir?: string } = {}): Promise<TestHerald> {
  const dataDir = options.dataDir ?? tempDataDir();
  const config = loadConfig({ env: {}, overrides: { port: 0, logLevel: 'silent', dataDir, deliveryPollMs: 50, shutdownGraceMs: 2000, ...overrides } });
  const herald = await startHerald({ config });
  let apiKey = herald.firstApiKey;
  const defaultAccount = (await herald.backend.accounts.findAccountByName('default'))!;
  if (!apiKey) apiKey = (await createApiKey(herald.backend.accounts, defaultAccount.id, 'test', [...SCOPES])).apiKey;
  const key = apiKey;
  return Object.assign(herald, {
    apiKey: key,
    dataDir,
    async newAccount(name: string, scopes: Scope[] = [...SCOPES]) {
      const account = await herald.backend.accounts.createAccount(name);
      const created = await createApiKey(herald.backend.accounts, account.id, `${name} key`, scopes);
      return { accountId: account.id, apiKey: created.apiKey };
    },
    async newKey(scopes: Scope[]) {
      return (await createApiKey(herald.backend.accounts, defaultAccount.id, 'scoped', scopes)).apiKey;
    },
    api(path: string, init: RequestInit & { json?: unknown; key?: string | null } = {}) {
      const { json, key: k, headers, ...rest } = init;
      const h = new Headers(headers);
      const useKey = k === undefined ? key : k;
      if (useKey !== null && !h.has('authorization')) h.set('authorization', `Bearer ${useKey}`);
      if (json !== undefined && !h.has('content-type')) h.set('content-type', 'application/json');
      return fetch(herald.url + path, { ...rest, headers: h, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
    },
    async close() {
      await herald.stop();
      if (!options.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** A minimal valid SendGrid v3 body, to which a test adds or breaks one thing. */
export function mailBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    personalizations: [{ to: [{ email: 'rcpt@example.com' }] }],
    from: { email: 'sender@example.com' },
    subject: 'Hello',
    content: [{ type: 'text/plain', value: 'Hello there' }],
    ...overrides,
  };
}

/** Polls `check` every 20 ms until it returns a value or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 15000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
