import { createInterface } from 'node:readline';
import type { HeraldConfig } from '../config/settings.js';
import { HeraldError } from '../errors.js';
import { addDashboardUser } from '../dashboard/users.js';
import { MAX_PASSWORD_LENGTH } from '../dashboard/passwords.js';
import { accountId, withBackend } from './keys-command.js';
import type { CommandFlags } from './main.js';

export const USERS_USAGE = `Usage:
  herald users add EMAIL [--account NAME]   adds a dashboard user; asks for the password, or reads
                                            its first line from stdin when stdin is not a terminal
  herald users list [--account NAME]`;

/** Reads a password: hidden at a terminal (typed twice), else the first line of stdin. */
async function readPassword(input: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (!input.isTTY) {
    let text = '';
    for await (const chunk of input) {
      text += String(chunk);
      if (text.includes('\n') || text.length > MAX_PASSWORD_LENGTH + 2) break;
    }
    return text.split(/\r?\n/)[0]!;
  }
  const ask = (prompt: string) =>
    new Promise<string>((resolve) => {
      const rl = createInterface({ input, output: process.stderr, terminal: true });
      // Echo nothing while the password is typed.
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
        if (s.includes(prompt)) process.stderr.write(prompt);
      };
      rl.question(prompt, (answer) => {
        rl.close();
        process.stderr.write('\n');
        resolve(answer);
      });
    });
  const first = await ask('Password: ');
  const again = await ask('Again: ');
  if (first !== again) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'password', message: 'the two passwords differ' });
  return first;
}

/** `herald users add|list`: dashboard users, on the data directory like `keys`. */
export async function usersCommand(config: HeraldConfig, sub: string | undefined, rest: string[], flags: CommandFlags): Promise<number> {
  if (sub === 'add') {
    const [email, ...extra] = rest;
    if (!email || extra.length > 0) {
      console.error(USERS_USAGE);
      return 2;
    }
    const password = await readPassword();
    return withBackend(config, async (backend) => {
      const user = await addDashboardUser(backend.dashboard, await accountId(backend, flags.account), email, password);
      console.log(`dashboard user ${user.email} added to account "${flags.account ?? 'default'}"; sign in at /dashboard/`);
      return 0;
    });
  }
  if (sub === 'list' || sub === undefined) {
    return withBackend(config, async (backend) => {
      for (const u of await backend.dashboard.listUsers(await accountId(backend, flags.account))) console.log(`${new Date(u.createdAt).toISOString()}  ${u.email}`);
      return 0;
    });
  }
  console.error(`herald users: unknown subcommand "${sub}"\n\n${USERS_USAGE}`);
  return 2;
}
