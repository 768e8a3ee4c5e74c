/**
 * Whether a fetch of the open pixel was made by a machine rather than by a person reading the
 * message (SendGrid's `sg_machine_open`). Such opens are recorded and marked, never dropped.
 *
 * Detected:
 * - Apple Mail Privacy Protection: Apple's proxy fetches every image when the message arrives,
 *   with the bare user agent `Mozilla/5.0` and from Apple's network 17.0.0.0/8.
 * - Security scanners and link checkers that announce themselves (Barracuda, Mimecast, Proofpoint,
 *   Symantec/MessageLabs, Trend Micro, Sophos, Cisco IronPort, Forcepoint, FireEye, Zscaler).
 * - Crawlers, link previewers and HTTP libraries (`bot`, `spider`, `crawl`, `preview`, curl, wget,
 *   python-requests, Go, Java, okhttp, headless browsers), and requests without a user agent.
 * Image proxies that fetch when a person opens the message (Gmail's GoogleImageProxy, Yahoo's
 * YahooMailProxy) count as people.
 */
export function isMachineOpen(userAgent: string | null, ip: string | null): boolean {
  const ua = (userAgent ?? '').trim();
  if (ua === '' || ua === 'Mozilla/5.0') return true;
  if (ip !== null && isAppleNetwork(ip)) return true;
  return MACHINE_AGENTS.test(ua);
}

const MACHINE_AGENTS =
  /bot\b|bot\/|spider|crawl|scanner|preview|barracuda|mimecast|proofpoint|symantec|messagelabs|trend ?micro|sophos|ironport|forcepoint|fireeye|zscaler|^curl\/|^wget\/|python-requests|python-urllib|aiohttp|go-http-client|^java\/|okhttp|headlesschrome|phantomjs|facebookexternalhit|slackbot|whatsapp/i;

/** 17.0.0.0/8, Apple's, also as an IPv4-mapped IPv6 address. */
function isAppleNetwork(ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return /^17\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
