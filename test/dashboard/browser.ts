import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { addDashboardUser } from '../../src/dashboard/users.js';
import type { TestHerald } from '../support/test-herald.js';

/** Debian's Chromium (installed by .ci/run); HERALD_TEST_CHROMIUM overrides it. Nothing is downloaded. */
export const CHROMIUM = process.env.HERALD_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Screenshots of every page, for a person to look at: test-output/screenshots (gitignored). */
export const SCREENSHOTS = fileURLToPath(new URL('../../../test-output/screenshots/', import.meta.url));

export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export const PASSWORD = 'correct horse battery staple';

/** A dashboard user in `accountName` (made when missing) of the running Herald. */
export async function makeUser(herald: TestHerald, email: string, accountName = 'default'): Promise<void> {
  const account = (await herald.backend.accounts.findAccountByName(accountName)) ?? (await herald.backend.accounts.createAccount(accountName));
  await addDashboardUser(herald.backend.dashboard, account.id, email, PASSWORD);
}

/** A fresh browser profile at `viewport`, pages failing fast enough for a test. */
export async function newPage(browser: Browser, viewport = LAPTOP): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  return { context, page };
}

/** Signs in through the form and waits for the signed-in shell. */
export async function signIn(page: Page, baseUrl: string, email: string, password = PASSWORD): Promise<void> {
  await page.goto(`${baseUrl}/dashboard/`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('.topbar .who');
}

export async function shoot(page: Page, name: string): Promise<void> {
  // Callers wait for what the page must show; this waits for the document and its fonts to finish.
  await page.waitForFunction('document.readyState === "complete" && document.fonts.status === "loaded"');
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}
