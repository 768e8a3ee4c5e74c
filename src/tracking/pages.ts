import { escapeHtml } from './html-scan.js';

/**
 * The small pages of the unsubscribe flow. Everything shown is escaped; forms post back to the
 * token's own URL (so a page can only ever act on the token it was opened with); the headers
 * forbid scripts, framing (no clickjacking of the button) and referrers (the token stays private).
 */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
} as const;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font-size:1rem;padding:.5rem 1rem;cursor:pointer}</style>
</head><body>
${body}
</body></html>
`;
}

/** What the recipient is (or would be) unsubscribed from. */
export function subject(group: { name: string } | null): string {
  return group ? `the “${escapeHtml(group.name)}” emails` : 'all emails from this sender';
}

/** GET: asks before doing anything (scanners fetch links; RFC 8058 §4: GET must not unsubscribe). */
export function confirmPage(email: string, group: { name: string } | null): string {
  return page(
    'Unsubscribe',
    `<h1>Unsubscribe</h1>
<p>Stop sending ${subject(group)} to <strong>${escapeHtml(email)}</strong>?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
  );
}

/** After unsubscribing, or when already unsubscribed: the way back. `landing` is the account's own page, if any. */
export function unsubscribedPage(email: string, group: { name: string } | null, action: string, landing: string): string {
  const back = `<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="resubscribe" value="1"><button type="submit">Resubscribe</button></form>`;
  if (landing !== '') return page('Unsubscribed', `${landing}\n${back}`);
  return page(
    'Unsubscribed',
    `<h1>You are unsubscribed</h1>
<p><strong>${escapeHtml(email)}</strong> will no longer receive ${subject(group)}.</p>
<p>Unsubscribed by mistake?</p>
${back}`,
  );
}

export function resubscribedPage(email: string, group: { name: string } | null): string {
  return page('Resubscribed', `<h1>You are subscribed again</h1>\n<p><strong>${escapeHtml(email)}</strong> will receive ${subject(group)} again.</p>`);
}

export function problemPage(title: string, text: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>`);
}
