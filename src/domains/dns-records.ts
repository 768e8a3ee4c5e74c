import type { HeraldConfig } from '../config/settings.js';
import type { DkimPublicKey, SendingDomain } from './domain-store.js';

/** One record to publish, as SendGrid lists them under `dns`. */
export interface DnsRecord {
  /** Which record: `dkim1` (RSA), `dkim2` (Ed25519), `spf`, `dmarc`. */
  name: 'dkim1' | 'dkim2' | 'spf' | 'dmarc';
  type: 'txt';
  host: string;
  data: string;
  /** DKIM records must match for the domain to be valid; SPF and DMARC are advice. */
  required: boolean;
}

export type SuggestionSettings = Pick<HeraldConfig, 'spfInclude' | 'sendingIps' | 'dmarcRua'>;

/** RFC 6376 §3.6.1 key record: `v=DKIM1; k=rsa; p=...` or `k=ed25519` (RFC 8463 §4.2). */
export function dkimRecordData(key: DkimPublicKey): string {
  return `v=DKIM1; k=${key.algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519'}; p=${key.publicKey}`;
}

export function dkimHost(domain: string, selector: string): string {
  return `${selector}._domainkey.${domain}`;
}

/** RFC 7208 record: `include:` and `ip4:`/`ip6:` from the settings, `mx` when neither is set. */
export function spfRecordData(settings: SuggestionSettings): string {
  const ips = (settings.sendingIps ?? '').split(',').map((s) => s.trim()).filter(Boolean).map((ip) => (ip.includes(':') ? `ip6:${ip}` : `ip4:${ip}`));
  const include = settings.spfInclude ? [`include:${settings.spfInclude}`] : [];
  const mechanisms = [...ips, ...include];
  return `v=spf1 ${(mechanisms.length > 0 ? mechanisms : ['mx']).join(' ')} ~all`;
}

/** RFC 7489 §6.3: start at p=none, with aggregate reports, and tighten once reports look right. */
export function dmarcRecordData(domain: string, settings: SuggestionSettings): string {
  return `v=DMARC1; p=none; rua=mailto:${settings.dmarcRua ?? `dmarc-reports@${domain}`}`;
}

/** Everything to publish for a domain: its DKIM keys, then SPF and DMARC suggestions. */
export function recordsFor(domain: SendingDomain, settings: SuggestionSettings): DnsRecord[] {
  const dkim: DnsRecord[] = domain.keys.map((k) => ({
    name: k.algorithm === 'rsa-sha256' ? 'dkim1' : 'dkim2',
    type: 'txt',
    host: dkimHost(domain.domain, k.selector),
    data: dkimRecordData(k),
    required: true,
  }));
  return [
    ...dkim,
    { name: 'spf', type: 'txt', host: domain.domain, data: spfRecordData(settings), required: false },
    { name: 'dmarc', type: 'txt', host: `_dmarc.${domain.domain}`, data: dmarcRecordData(domain.domain, settings), required: false },
  ];
}
