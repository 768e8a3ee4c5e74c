import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestHerald, mailBody, eventually, type TestHerald } from '../support/test-herald.js';
import { launchBrowser, makeUser, newPage, PHONE, shoot, signIn } from './browser.js';

// The dashboard in headless Chromium against a real Herald: everything a user does goes through
// the public API with the session cookie, and what it shows is checked against the API itself.

let herald: TestHerald;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let msgId: string;
let otherMsgSubject: string;

const ALICE = 'alice@example.com';
const BOB = 'bob@globex.test';

before(async () => {
  herald = await startTestHerald({ webhookAllowPrivateTargets: true });
  await makeUser(herald, ALICE);
  await makeUser(herald, BOB, 'globex');
  browser = await launchBrowser();
  ({ context, page } = await newPage(browser));
  // A message of the other account, which Alice must never see.
  const globex = await herald.backend.accounts.findAccountByName('globex');
  const { createApiKey } = await import('../../src/accounts/api-keys.js');
  const globexKey = (await createApiKey(herald.backend.accounts, globex!.id, 'globex', ['mail.send'])).apiKey;
  otherMsgSubject = 'Globex private news';
  const res = await herald.api('/v3/mail/send', { key: globexKey, method: 'POST', json: mailBody({ subject: otherMsgSubject, personalizations: [{ to: [{ email: 'secret@globex.test' }] }] }) });
  assert.equal(res.status, 202);
});

after(async () => {
  await browser?.close();
  await herald?.close();
});

describe('dashboard in a browser', () => {
  test('a wrong password shows the error and no session starts', async () => {
    await page.goto(`${herald.url}/dashboard/`);
    await page.fill('input[name=email]', ALICE);
    await page.fill('input[name=password]', 'not the password');
    await page.click('button[type=submit]');
    const error = await page.waitForSelector('.error');
    assert.match((await error.textContent())!, /email address or password is not correct/);
    assert.equal((await context.cookies()).length, 0);
    await shoot(page, 'sign-in-error');
  });

  test('signing in shows the overview, with queue tiles and the stats charts', async () => {
    await signIn(page, herald.url, ALICE);
    assert.match((await page.textContent('.topbar .who'))!, /alice@example\.com · default/);
    const cookie = (await context.cookies()).find((c) => c.name === 'herald_session')!;
    assert.ok(cookie.httpOnly, 'HttpOnly');
    assert.equal(cookie.sameSite, 'Strict');
    await page.waitForSelector('text=Queued');
    await page.waitForSelector('.chart canvas');
  });

  test('the overview charts the server stats for the chosen range', async () => {
    // Mail to chart: forty messages through the API, delivered into the capture inbox and counted.
    const sent = await herald.api('/v3/mail/send', {
      method: 'POST',
      json: mailBody({ personalizations: Array.from({ length: 40 }, (_, i) => ({ to: [{ email: `news${i}@example.org` }] })) }),
    });
    assert.equal(sent.status, 202);
    await eventually(async () => {
      const d = await herald.backend.queue.depth();
      return d.ready + d.scheduled + d.leased === 0;
    }, 20_000, 'the forty messages delivered');
    await herald.stats!.catchUp();
    await page.goto(`${herald.url}/dashboard/#/overview`);
    await page.reload();
    await page.waitForSelector('.chart canvas');
    assert.equal(await page.locator('.chart').count(), 2);
    const wanted = page.waitForRequest((r) => r.url().includes('/v3/stats?') && new URL(r.url()).searchParams.get('start_date') !== null);
    await page.click('text=30 days');
    const request = await wanted;
    const params = new URL(request.url()).searchParams;
    assert.equal(params.get('aggregated_by'), 'day');
    assert.equal((Date.parse(params.get('end_date')!) - Date.parse(params.get('start_date')!)) / 86_400_000, 29);
    await page.waitForSelector('.chart canvas');
    await shoot(page, 'overview');
  });

  test('a message sent through the API is found in Activity with its timeline and rendered capture', async () => {
    const res = await herald.api('/v3/mail/send', {
      method: 'POST',
      json: mailBody({
        subject: 'Dashboard hello',
        personalizations: [{ to: [{ email: 'reader@example.com' }] }],
        categories: ['welcome'],
        content: [
          { type: 'text/plain', value: 'Hello reader' },
          { type: 'text/html', value: '<h1>Hello reader</h1><script>document.title="pwned"</script>' },
        ],
      }),
    });
    assert.equal(res.status, 202);
    msgId = await eventually(async () => {
      const list = (await (await herald.api('/v3/messages?query=' + encodeURIComponent('to_email="reader@example.com" AND status="delivered"'))).json()) as { messages: { msg_id: string }[] };
      return list.messages[0]?.msg_id;
    }, 20_000, 'delivery into the capture inbox');

    await page.goto(`${herald.url}/dashboard/#/activity`);
    await page.fill('input[name=to]', 'reader@example.com');
    await page.fill('input[name=category]', 'welcome');
    await page.click('form.filters button[type=submit]');
    await page.waitForSelector('table.list >> text=Dashboard hello');
    assert.equal(await page.locator('table.list tbody tr').count(), 1);
    assert.equal(await page.locator(`text=${otherMsgSubject}`).count(), 0, "another account's message is not listed");
    await shoot(page, 'activity');

    await page.click('table.list >> text=reader@example.com');
    await page.waitForSelector('ol.timeline');
    const timeline = (await page.textContent('ol.timeline'))!;
    assert.match(timeline, /processed/);
    assert.match(timeline, /delivered/);
    await page.waitForSelector('text=open the rendered message');
    await shoot(page, 'message');

    await page.click('text=open the rendered message');
    const frame = await page.waitForSelector('iframe.mail-html');
    assert.equal(await frame.getAttribute('sandbox'), '', 'the mail HTML runs sandboxed, without scripts');
    const inner = await frame.contentFrame();
    await inner!.waitForSelector('h1');
    assert.equal(await inner!.textContent('h1'), 'Hello reader');
    assert.notEqual(await page.title(), 'pwned');
    await shoot(page, 'inbox-message');
    await page.click('role=tab[name="Text"]');
    assert.match((await page.textContent('pre.mail-text'))!, /Hello reader/);
    await page.click('role=tab[name="Headers"]');
    assert.match((await page.textContent('pre.mail-text'))!, /Subject: Dashboard hello/);
  });

  test('the local inbox lists captured mail', async () => {
    await page.goto(`${herald.url}/dashboard/#/inbox`);
    await page.waitForSelector('table.list >> text=Dashboard hello');
    assert.equal(await page.locator(`text=${otherMsgSubject}`).count(), 0);
    await shoot(page, 'inbox');
  });

  test('a suppression added and removed in the dashboard is added and removed in the API', async () => {
    const address = 'unsubscribed@example.com';
    const listed = async () => (await (await herald.api(`/v3/asm/suppressions/global/${address}`)).json()) as { recipient_email?: string };
    await page.goto(`${herald.url}/dashboard/#/suppressions`);
    await page.waitForSelector('text=No global unsubscribes');
    await page.fill('input[name=add-email]', address);
    await page.click('text=Add unsubscribe');
    await page.waitForSelector(`table.list >> text=${address}`);
    assert.equal((await listed()).recipient_email, address);
    await shoot(page, 'suppressions');
    await page.click(`button[aria-label="Remove ${address}"]`);
    await page.waitForSelector('text=No global unsubscribes');
    assert.deepEqual(await listed(), {});
  });

  test('an API key created in the dashboard is shown once, works, and stops working when revoked', async () => {
    await page.goto(`${herald.url}/dashboard/#/keys`);
    await page.fill('input[name=key-name]', 'dashboard-made');
    await page.click('text=Restricted: only the scopes chosen');
    await page.click('input[value="messages.read"]');
    await page.click('text=Create key');
    const key = (await page.textContent('[data-testid=new-key]'))!;
    assert.match(key, /^SG\./);
    assert.equal((await herald.api('/v3/messages?limit=1', { key })).status, 200);
    assert.equal((await herald.api('/v3/api_keys', { key })).status, 403, 'only the scopes chosen');
    await page.waitForSelector('table.list >> text=dashboard-made');
    await shoot(page, 'api-keys');
    await page.reload();
    await page.waitForSelector('table.list >> text=dashboard-made');
    assert.ok(!(await page.content()).includes(key.split('.')[2]!), 'the secret is never shown again');
    page.once('dialog', (d) => void d.accept());
    await page.click('button[aria-label="Revoke dashboard-made"]');
    await page.waitForSelector('table.list >> text=dashboard-made', { state: 'detached' });
    assert.equal((await herald.api('/v3/messages?limit=1', { key })).status, 401);
  });

  test('a sending domain added in the dashboard shows its DNS records', async () => {
    await page.goto(`${herald.url}/dashboard/#/domains`);
    await page.waitForSelector('text=No sending domains');
    await page.fill('input[name=domain]', 'mail.example.com');
    await page.click('text=Add domain');
    await page.waitForSelector('.card >> text=mail.example.com');
    const records = (await page.textContent('table.records'))!;
    assert.match(records, /dkim/i);
    assert.match(records, /v=spf1/);
    assert.match(records, /v=DMARC1/);
    await shoot(page, 'domains');
  });

  test('an account without webhooks sees the empty state; SLOs are for operators', async () => {
    await page.goto(`${herald.url}/dashboard/#/webhooks`);
    await page.waitForSelector('text=No webhooks');
    await shoot(page, 'webhooks');
    // A dashboard user administers an account; the server-wide SLOs need an operator's slo.read key.
    await page.goto(`${herald.url}/dashboard/#/slos`);
    await page.waitForSelector("text=For the server's operators");
    await shoot(page, 'slos');
  });

  test('the webhooks page lists the webhooks of the account; the SLO page draws what GET /v1/slos answers', async () => {
    const made = await herald.api('/v3/user/webhooks/event/settings', {
      method: 'POST',
      json: { enabled: true, url: 'http://127.0.0.1:9/herald', delivered: true, bounce: true, open: false },
    });
    assert.equal(made.status, 201, await made.clone().text());
    // What an operator's key sees (the session cannot read it): the shape of src/ops/slo/slo-report.ts.
    await page.route('**/v1/slos', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          slos: [
            { name: 'accept-latency', description: 'accepted within 100 ms', objective: 0.999, window: '30d', error_budget_remaining: 0.82, burn_rates: { '1h': 0.4, '6h': 0.7 }, alerts: [] },
            { name: 'time-to-deliver', description: 'delivered within 60 s', objective: 0.99, window: '30d', error_budget_remaining: 0.12, burn_rates: { '1h': 14.2, '6h': 6.1 }, alerts: [{ severity: 'page', since: '2026-11-23T10:00:00Z', reason: 'burn 14.2x over 1h and 5m' }] },
          ],
        }),
      }),
    );
    try {
      await page.goto(`${herald.url}/dashboard/#/webhooks`);
      await page.waitForSelector('text=http://127.0.0.1:9/herald');
      assert.match((await page.textContent('.card >> text=Events:'))!, /delivered, bounce/);
      await shoot(page, 'webhooks-with-data');
      await page.goto(`${herald.url}/dashboard/#/slos`);
      await page.waitForSelector('text=time-to-deliver');
      assert.match((await page.textContent('ul.alerts'))!, /page · burn 14\.2x/);
      await shoot(page, 'slos-with-data');
    } finally {
      await page.unroute('**/v1/slos');
    }
  });

  test('a state-changing request with the session but without the CSRF token is refused', async () => {
    await page.goto(`${herald.url}/dashboard/#/suppressions`);
    const answers = await page.evaluate(async () => {
      const post = (headers: Record<string, string>) =>
        fetch('/v3/asm/suppressions/global', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ recipient_emails: ['forged@example.com'] }) }).then(async (r) => ({ status: r.status, body: (await r.json()) as { errors: { code: string }[] } }));
      return [await post({}), await post({ 'x-csrf-token': 'not-the-token' })];
    });
    for (const a of answers) {
      assert.equal(a.status, 403);
      assert.equal(a.body.errors[0]!.code, 'HERALD_ERR_CSRF');
    }
    assert.deepEqual(await (await herald.api('/v3/asm/suppressions/global/forged@example.com')).json(), {});
  });

  test("another account's user sees none of this account's data", async () => {
    const bob = await newPage(browser);
    try {
      await signIn(bob.page, herald.url, BOB);
      await bob.page.goto(`${herald.url}/dashboard/#/activity`);
      await bob.page.waitForSelector(`table.list >> text=${otherMsgSubject}`);
      assert.equal(await bob.page.locator('text=Dashboard hello').count(), 0);
      await bob.page.goto(`${herald.url}/dashboard/#/messages/${encodeURIComponent(msgId)}`);
      await bob.page.waitForSelector('.error >> text=Message not found');
      await bob.page.goto(`${herald.url}/dashboard/#/inbox`);
      await bob.page.waitForSelector(`table.list >> text=${otherMsgSubject}`);
      assert.equal(await bob.page.locator('text=Dashboard hello').count(), 0);
      await bob.page.goto(`${herald.url}/dashboard/#/domains`);
      await bob.page.waitForSelector('text=No sending domains');
      await bob.page.goto(`${herald.url}/dashboard/#/keys`);
      await bob.page.waitForSelector('table.list');
      assert.equal(await bob.page.locator('text=initial full-access key').count(), 0);
    } finally {
      await bob.context.close();
    }
  });

  test('every page renders at phone width', async () => {
    const phone = await newPage(browser, PHONE);
    try {
      await signIn(phone.page, herald.url, ALICE);
      for (const [name, hash] of [
        ['overview', 'overview'],
        ['activity', 'activity'],
        ['message', `messages/${encodeURIComponent(msgId)}`],
        ['inbox', 'inbox'],
        ['suppressions', 'suppressions'],
        ['api-keys', 'keys'],
        ['domains', 'domains'],
        ['webhooks', 'webhooks'],
        ['slos', 'slos'],
      ] as const) {
        await phone.page.goto(`${herald.url}/dashboard/#/${hash}`);
        await phone.page.waitForSelector('.page-head h1');
        await phone.page.waitForSelector('text=Loading…', { state: 'detached' });
        await shoot(phone.page, `phone-${name}`);
      }
      // The menu folds away on a phone and opens from its button.
      assert.equal(await phone.page.isVisible('nav.sidebar'), false);
      await phone.page.click('button.menu-button');
      assert.equal(await phone.page.isVisible('nav.sidebar'), true);
      await shoot(phone.page, 'phone-menu');
    } finally {
      await phone.context.close();
    }
  });

  test('an expired session sends the browser back to sign-in and no longer authenticates the API', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'herald_session')!;
    // Time moves past the session's expiry: remove what would be expired a day after the TTL.
    await herald.backend.dashboard.deleteExpiredSessions(Date.now() + herald.config.dashboardSessionTtlMs + 86_400_000);
    await page.goto(`${herald.url}/dashboard/#/activity`);
    await page.reload();
    await page.waitForSelector('input[name=password]');
    const res = await fetch(`${herald.url}/v3/messages`, { headers: { cookie: `herald_session=${cookie.value}` } });
    assert.equal(res.status, 401);
  });

  test('signing out ends the session on the server', async () => {
    await signIn(page, herald.url, ALICE);
    const cookie = (await context.cookies()).find((c) => c.name === 'herald_session')!;
    await page.click('text=Sign out');
    await page.waitForSelector('input[name=password]');
    assert.equal((await context.cookies()).filter((c) => c.name === 'herald_session').length, 0);
    const res = await fetch(`${herald.url}/v3/messages`, { headers: { cookie: `herald_session=${cookie.value}` } });
    assert.equal(res.status, 401);
  });
});
