import type { HeraldConfig } from '../config/settings.js';
import type { Backend } from '../backends/backend.js';
import { HeraldError } from '../errors.js';
import { MAX_DOMAINS, normalizeDomain } from '../domains/domain-payload.js';
import { defaultSelector, generateDkimKeys } from '../domains/dkim-keys.js';
import { recordsFor } from '../domains/dns-records.js';
import { checkDomain } from '../domains/domain-check.js';
import type { SendingDomain } from '../domains/domain-store.js';
import { accountId, withBackend } from './keys-command.js';
import type { CommandFlags } from './main.js';

/**
 * `herald domains add|list|check`, on the data directory like `keys`: works whether or not the
 * server runs. A running server sees a domain validated here within a minute (its key cache).
 */
export async function domainsCommand(config: HeraldConfig, sub: string | undefined, rest: string[], flags: CommandFlags): Promise<number> {
  return withBackend(config, async (backend) => {
    const account = await accountId(backend, flags.account);
    if (sub === 'add') {
      const domain = readDomain(rest[0], 'add');
      const selector = defaultSelector();
      const created = await backend.domains.create(account, { domain, selector, keys: generateDkimKeys(selector) }, MAX_DOMAINS);
      if (created === 'duplicate') throw new HeraldError('HERALD_ERR_DUPLICATE_DOMAIN', { message: `${domain} is already a sending domain of this account (herald domains list)` });
      if (created === 'limit') throw new HeraldError('HERALD_ERR_DOMAIN_LIMIT');
      console.log(`sending domain ${created.domain} added (id ${created.id}). Publish these DNS records, then run: herald domains check ${created.domain}`);
      console.log('');
      for (const r of recordsFor(created, config)) {
        console.log(`${r.name}${r.required ? '' : ' (suggested)'}  TXT  ${r.host}`);
        console.log(`  ${r.data}`);
      }
      return 0;
    }
    if (sub === 'list' || sub === undefined) {
      const all = await backend.domains.list(account);
      if (all.length === 0) console.log('No sending domains; add one: herald domains add example.com');
      for (const d of all) {
        const checked = d.validatedAt === null ? 'never checked' : `checked ${new Date(d.validatedAt).toISOString()}`;
        console.log(`${String(d.id).padEnd(4)} ${d.domain}  ${d.valid ? 'valid' : 'not valid'}  selectors ${d.keys.map((k) => k.selector).join(',')}  ${checked}`);
      }
      return 0;
    }
    if (sub === 'check') {
      const found = await findDomain(backend, account, readDomain(rest[0], 'check'));
      const check = await checkDomain(found, config, { servers: config.dnsCheckServers });
      await backend.domains.markChecked(account, found.id, { valid: check.valid, records: check.records, at: Date.now() });
      const rows = check.results.map((r) => [r.record.name, r.valid ? 'ok' : 'MISSING', r.record.host, r.reason ?? '']);
      const widths = [0, 1, 2].map((i) => Math.max(...[['record', 'status', 'host'][i]!.length, ...rows.map((row) => row[i]!.length)]));
      const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
      console.log(line(['record', 'status', 'host', 'reason']));
      for (const row of rows) console.log(line(row));
      console.log('');
      console.log(check.valid ? `${found.domain} is valid: mail from it is DKIM-signed.` : `${found.domain} is not valid yet: publish the DKIM records (herald domains add printed them) and check again.`);
      return check.valid ? 0 : 1;
    }
    console.error(`herald domains: unknown subcommand "${sub}" (add, list, check)`);
    return 2;
  });
}

function readDomain(raw: string | undefined, verb: string): string {
  if (!raw) throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: 'domain', message: `domains ${verb} needs a domain, e.g. herald domains ${verb} example.com` });
  const domain = normalizeDomain(raw);
  if (!domain || /[\r\n\0]/.test(raw)) throw new HeraldError('HERALD_ERR_INVALID_DOMAIN', { field: 'domain', message: `"${raw.slice(0, 100)}" is not a domain name` });
  return domain;
}

async function findDomain(backend: Backend, account: string, domain: string): Promise<SendingDomain> {
  const found = await backend.domains.findByName(account, domain);
  if (!found) throw new HeraldError('HERALD_ERR_NOT_FOUND', { message: `${domain} is not a sending domain of this account; add it: herald domains add ${domain}` });
  return found;
}
