import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startHerald, stopHeraldChildren } from '../support/herald-child.js';
import { freePort } from '../support/free-port.js';
import { tempDataDir } from '../support/test-herald.js';

after(() => stopHeraldChildren());

test('the first start says where the dashboard is and how to make its first user, and serves it', async (t) => {
  const dir = tempDataDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const herald = await startHerald({ HERALD_PORT: String(await freePort()), HERALD_DATA_DIR: dir });
  assert.match(herald.output(), new RegExp(`${herald.url.replace(/[.:/]/g, '\\$&')}/dashboard/`));
  assert.match(herald.output(), /npx herald users add you@example\.com --account default/);
  const page = await fetch(`${herald.url}/dashboard/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<div id="app"><\/div>/);
  herald.proc.kill('SIGTERM');
  await herald.exited;
});
