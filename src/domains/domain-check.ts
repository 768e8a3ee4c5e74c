import { Resolver } from 'node:dns/promises';
import type { RecordStatus, SendingDomain } from './domain-store.js';
import { recordsFor, type DnsRecord, type SuggestionSettings } from './dns-records.js';

/** What a check found for one record. */
export interface RecordCheck {
  record: DnsRecord;
  valid: boolean;
  /** Why it does not match; null when it does (SendGrid's `reason`). */
  reason: string | null;
  /** The lookup itself failed (timeout, SERVFAIL): the record may well be there. */
  transient?: boolean;
}

export interface DomainCheck {
  /**
   * True when every DKIM record matches, false when one is missing or wrong; when a DKIM lookup
   * failed (timeout, SERVFAIL) the domain keeps the validity it had, so a DNS outage during a
   * check does not stop a valid domain's mail from being signed.
   */
  valid: boolean;
  results: RecordCheck[];
  /** Each record's outcome by name, as the store keeps it. */
  records: Record<string, RecordStatus>;
}

export interface CheckOptions {
  /** `host` or `host:port`, comma-separated; null asks the system resolvers. */
  servers: string | null;
  /** Per query, ms. @defaultValue 5000 */
  timeoutMs?: number;
}

/** Looks every record of the domain up over DNS and says which match what Herald asked for. */
export async function checkDomain(domain: SendingDomain, settings: SuggestionSettings, options: CheckOptions): Promise<DomainCheck> {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 5000, tries: 2 });
  if (options.servers) resolver.setServers(options.servers.split(',').map((s) => s.trim()).filter(Boolean));
  const results = await Promise.all(
    recordsFor(domain, settings).map(async (record): Promise<RecordCheck> => {
      let found: string[];
      try {
        // RFC 7208 §3.3 / RFC 6376 §3.6.2.2: a record split into character-strings is their concatenation.
        found = (await resolver.resolveTxt(record.host)).map((chunks) => chunks.join(''));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === 'ENOTFOUND' || code === 'ENODATA' ? 'no TXT record found' : `the lookup failed (${code ?? 'error'})`;
        return { record, valid: false, reason: `Expected a TXT record at ${record.host}, but ${why}.`, transient: !(code === 'ENOTFOUND' || code === 'ENODATA') };
      }
      return { record, ...compare(record, found) };
    }),
  );
  const required = results.filter((r) => r.record.required);
  const valid = required.some((r) => r.transient) && required.every((r) => r.valid || r.transient) ? domain.valid : required.every((r) => r.valid);
  return { valid, results, records: Object.fromEntries(results.map((r) => [r.record.name, { valid: r.valid, reason: r.reason }])) };
}

function compare(record: DnsRecord, found: string[]): { valid: boolean; reason: string | null } {
  const shown = found.length > 0 ? found.map((f) => JSON.stringify(f.length > 120 ? `${f.slice(0, 117)}...` : f)).join(', ') : 'nothing';
  switch (record.name) {
    case 'dkim1':
    case 'dkim2': {
      const want = dkimTags(record.data);
      const matching = found.filter((f) => {
        const got = dkimTags(f);
        return got.p === want.p && (got.k ?? 'rsa') === want.k && (got.v === undefined || got.v === 'DKIM1');
      });
      if (matching.length === 1 && found.length === 1) return { valid: true, reason: null };
      // RFC 6376 §3.6.2.2: several key records at one name make verifiers' results undefined.
      if (matching.length > 0) return { valid: false, reason: `Found ${found.length} TXT records at ${record.host}; publish only the DKIM key.` };
      return { valid: false, reason: `Expected the DKIM key record ${JSON.stringify(record.data.slice(0, 40) + '...')} but found ${shown}.` };
    }
    case 'spf': {
      const spf = found.filter((f) => /^v=spf1(\s|$)/i.test(f));
      if (spf.length === 0) return { valid: false, reason: `Expected an SPF record like ${JSON.stringify(record.data)} but found ${shown}.` };
      // RFC 7208 §4.5: more than one SPF record is a permanent error for every receiver.
      if (spf.length > 1) return { valid: false, reason: `Found ${spf.length} SPF records; merge them into one.` };
      const terms = new Set(spf[0]!.toLowerCase().split(/\s+/));
      const missing = record.data.toLowerCase().split(/\s+/).filter((t) => t !== 'v=spf1' && t !== '~all' && !terms.has(t));
      return missing.length === 0 ? { valid: true, reason: null } : { valid: false, reason: `The SPF record lacks ${missing.join(' ')}.` };
    }
    case 'dmarc': {
      const dmarc = found.filter((f) => /^v=DMARC1\s*(;|$)/.test(f));
      if (dmarc.length === 1) return { valid: true, reason: null };
      return { valid: false, reason: dmarc.length > 1 ? 'Found several DMARC records; publish one.' : `Expected a DMARC record like ${JSON.stringify(record.data)} but found ${shown}.` };
    }
  }
}

/** RFC 6376 §3.2 tag-list; whitespace inside `p=` is folding and is dropped. */
function dkimTags(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !(name in tags)) tags[name] = part.slice(eq + 1).replace(/\s+/g, '');
  }
  return tags;
}
