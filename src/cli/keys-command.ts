import type { HeraldConfig } from '../config/settings.js';
import { openBackend, type Backend } from '../backends/backend.js';
import { createApiKey, readScopes } from '../accounts/api-keys.js';
import { HeraldError } from '../errors.js';
import type { CommandFlags } from './main.js';
import { limitsCommand } from './limits-command.js';

/** Local administration on the data directory: works whether or not the server runs. */
export async function withBackend<T>(config: HeraldConfig, fn: (backend: Backend) => Promise<T>): Promise<T> {
  const backend = await openBackend(config);
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}

export async function accountId(backend: Backend, name: string | undefined): Promise<string> {
  const wanted = name ?? 'default';
  const account = await backend.accounts.findAccountByName(wanted);
  if (!account) {
    throw new HeraldError('HERALD_ERR_NOT_FOUND', {
      message: `no account named "${wanted}" in ${backend.kind} data; start Herald once, or: herald accounts create --name ${wanted}`,
    });
  }
  return account.id;
}

export async function keysCommand(config: HeraldConfig, sub: string | undefined, flags: CommandFlags): Promise<number> {
  return withBackend(config, async (backend) => {
    if (sub === 'create') {
      if (!flags.name) throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: 'name', message: 'keys create needs --name NAME' });
      const scopes = readScopes(flags.scopes ? flags.scopes.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
      const created = await createApiKey(backend.accounts, await accountId(backend, flags.account), flags.name, scopes);
      console.log(`API key "${flags.name}" (id ${created.record.id}), scopes: ${scopes.join(', ')}`);
      console.log('Shown only this once:');
      console.log(created.apiKey);
      return 0;
    }
    if (sub === 'list' || sub === undefined) {
      for (const k of await backend.accounts.listApiKeys(await accountId(backend, flags.account))) {
        console.log(`${k.id}  ${new Date(k.createdAt).toISOString()}  ${k.name}  [${k.scopes.join(',')}]`);
      }
      return 0;
    }
    console.error(`herald keys: unknown subcommand "${sub}" (create, list)`);
    return 2;
  });
}

export async function accountsCommand(config: HeraldConfig, sub: string | undefined, flags: CommandFlags, rest: string[] = []): Promise<number> {
  return withBackend(config, async (backend) => {
    if (sub === 'limits') return limitsCommand(config, backend, rest, flags);
    if (sub === 'create') {
      if (!flags.name || !/^[\w.-]{1,64}$/.test(flags.name)) {
        throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'name', message: 'accounts create needs --name of 1 to 64 letters, digits, ".", "_" or "-"' });
      }
      if (await backend.accounts.findAccountByName(flags.name)) {
        throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'name', message: `an account named "${flags.name}" exists already` });
      }
      const account = await backend.accounts.createAccount(flags.name);
      console.log(`account "${account.name}" created (id ${account.id}); make it a key: herald keys create --account ${account.name} --name NAME`);
      return 0;
    }
    if (sub === 'list' || sub === undefined) {
      for (const a of await backend.accounts.listAccounts()) console.log(`${a.id}  ${a.name}`);
      return 0;
    }
    console.error(`herald accounts: unknown subcommand "${sub}" (create, list, limits)`);
    return 2;
  });
}
