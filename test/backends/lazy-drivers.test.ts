import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempDataDir } from '../support/test-herald.js';

// The embedded default must not load the cluster drivers: a child process starts Herald on SQLite
// with a module hook that records every module it resolves, sends nothing, stops, and lists them.

const run = promisify(execFile);
const HERALD = pathToFileURL(fileURLToPath(new URL('../../src/herald.js', import.meta.url))).href;

const HOOK = `
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  process.stderr.write('loaded ' + result.url + '\\n');
  return result;
}`;

const SCRIPT = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOK)}));
const { startHerald } = await import(${JSON.stringify(HERALD)});
const { loadConfig } = await import(${JSON.stringify(HERALD.replace(/herald\.js$/, 'config/load.js'))});
const herald = await startHerald({ config: loadConfig({ env: {}, overrides: { port: 0, logLevel: 'silent', dataDir: process.argv[1] } }), logDestination: process.stderr });
await herald.stop();
`;

test('Herald on its embedded default never loads pg or the NATS client', async () => {
  const dir = tempDataDir();
  try {
    const { stderr } = await run(process.execPath, ['--input-type=module', '-e', SCRIPT, dir], { timeout: 30_000 });
    const loaded = stderr.split('\n').filter((l) => l.startsWith('loaded ')).map((l) => l.slice(7));
    assert.ok(loaded.some((u) => u.includes('/better-sqlite3/')), 'the hook saw the SQLite driver load');
    assert.deepEqual(loaded.filter((u) => /\/node_modules\/(pg|pg-[a-z-]+|@nats-io\/[^/]+)\//.test(u)), []);
    assert.deepEqual(loaded.filter((u) => /\/backends\/(postgres|nats)\//.test(u)), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
