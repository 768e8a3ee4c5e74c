import type { HeraldConfig } from '../config/settings.js';
import type { Backend } from '../backends/backend.js';
import { utcDay, type AccountLimits } from '../accounts/account-limits.js';
import { HeraldError } from '../errors.js';
import { accountId } from './keys-command.js';
import type { CommandFlags } from './main.js';

export const LIMITS_USAGE = `Usage:
  herald accounts limits [--account NAME] [--json]                  shows the limits in force and today's count
  herald accounts limits [--account NAME] [--requests-per-minute N|default] [--messages-per-day N|default]

N is a whole number, 0 for unlimited; "default" goes back to the setting (accountRequestsPerMinute,
accountMessagesPerDay). A running server applies a change within 5 seconds.`;

/** Largest limit accepted, as the settings' ranges. */
const MAX = { requestsPerMinute: 100_000_000, messagesPerDay: 1_000_000_000 } as const;

/** `--requests-per-minute 600` → 600; `default` → null; anything else → 400. */
function readLimit(value: string | undefined, field: keyof typeof MAX, flag: string): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'default') return null;
  if (!/^\d{1,10}$/.test(value) || Number(value) > MAX[field]) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: flag, message: `${flag} takes a whole number from 0 (unlimited) to ${MAX[field]}, or "default"; not "${value.slice(0, 40)}"` });
  }
  return Number(value);
}

/** `herald accounts limits`: reads or sets an account's own request rate and daily message quota. */
export async function limitsCommand(config: HeraldConfig, backend: Backend, rest: string[], flags: CommandFlags): Promise<number> {
  if (rest.length > 0) {
    throw new HeraldError('HERALD_ERR_INVALID_FIELD', { message: `accounts limits takes no argument "${rest[0]!.slice(0, 100)}"; name the account with --account NAME\n\n${LIMITS_USAGE}` });
  }
  const rpm = readLimit(flags['requests-per-minute'], 'requestsPerMinute', '--requests-per-minute');
  const mpd = readLimit(flags['messages-per-day'], 'messagesPerDay', '--messages-per-day');
  const id = await accountId(backend, flags.account);
  const name = flags.account ?? 'default';
  let own = await backend.limits.get(id);
  if (rpm !== undefined || mpd !== undefined) {
    const next: AccountLimits = { requestsPerMinute: rpm === undefined ? own.requestsPerMinute : rpm, messagesPerDay: mpd === undefined ? own.messagesPerDay : mpd };
    await backend.limits.set(id, next);
    own = await backend.limits.get(id);
  }
  const now = Date.now();
  const today = await backend.limits.messagesOn(id, now);
  const effective = {
    requestsPerMinute: own.requestsPerMinute ?? config.accountRequestsPerMinute,
    messagesPerDay: own.messagesPerDay ?? config.accountMessagesPerDay,
  };
  if (flags.json === true) {
    console.log(JSON.stringify({ account: name, accountId: id, own, effective, messagesToday: today, day: utcDay(now).day }));
    return 0;
  }
  const show = (n: number): string => (n === 0 ? 'unlimited' : String(n));
  const from = (v: number | null): string => (v === null ? 'the setting' : 'its own');
  console.log(`account ${name} (id ${id})`);
  console.log(`  requests per minute:  ${show(effective.requestsPerMinute)} (${from(own.requestsPerMinute)})`);
  console.log(`  messages per day:     ${show(effective.messagesPerDay)} (${from(own.messagesPerDay)})`);
  console.log(`  accepted today:       ${today} (UTC ${utcDay(now).day})`);
  return 0;
}
