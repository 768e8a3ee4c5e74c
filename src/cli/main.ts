#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { HeraldError } from '../errors.js';
import { SETTINGS, flagName } from '../config/settings.js';
import { loadConfig } from '../config/load.js';
import { startCommand } from './start-command.js';
import { keysCommand, accountsCommand } from './keys-command.js';
import { sendCommand, inboxCommand, messagesCommand } from './api-commands.js';
import { domainsCommand } from './domains-command.js';
import { queueCommand } from './queue-command.js';
import { migrateCommand } from './migrate-command.js';
import { configCommand } from './config-command.js';
import { sloCommand } from './slo-command.js';
import { capacityCommand } from './capacity-command.js';
import { usersCommand } from './users-command.js';

const USAGE = `herald: email delivery with a SendGrid v3 compatible API

Usage:
  herald start [--port N] [--data-dir DIR] [--smtp-relay URL] [--config FILE] ...
  herald keys create --name NAME [--scopes mail.send,messages.read] [--account NAME]
  herald keys list [--account NAME]
  herald accounts create --name NAME
  herald accounts list
  herald accounts limits [--account NAME] [--requests-per-minute N|default] [--messages-per-day N|default] [--json]
  herald users add EMAIL [--account NAME]      a dashboard user (/dashboard/); asks for the password or reads it from stdin
  herald users list [--account NAME]
  herald send --to ADDRESS --subject TEXT (--text TEXT | --html HTML) [--from ADDRESS]
  herald inbox [list] [--to ADDRESS] [--limit N]
  herald inbox show ID
  herald messages [--query 'status="delivered"'] [--limit N]
  herald messages show MSG_ID
  herald domains add DOMAIN [--account NAME]    prints the DNS records to publish
  herald domains list [--account NAME]
  herald domains check DOMAIN [--account NAME]  looks the records up; exit 1 until DKIM matches
  herald config get|set KEY VALUE|unset KEY    live settings for every process (NATS KV, natsUrl)
  herald migrate                                applies schema migrations (PostgreSQL: under an advisory lock)
  herald queue stats [--json]                   queued messages per destination (recipient domain)
  herald queue list [--destination D] [--limit N] [--json]
  herald queue retry --destination D            makes D's waiting messages ready now
  herald queue purge --destination D [--yes]    drops D's waiting messages (refuses without --yes)
  herald slo status [--json]                    SLOs: error budget left, burn rates, firing alerts
  herald capacity [--interval S] [--json]       queue and disk trend over S seconds, and when they run out

Commands that talk to a running server use HERALD_URL (default http://127.0.0.1:<port>) and
HERALD_API_KEY (or --url and --api-key). Every setting can be given as a flag, as HERALD_<NAME>,
or in the config file: see docs/config.md.`;

/** Flags of the commands themselves; every setting is a flag too, named as in docs/config.md. */
const COMMAND_FLAGS = {
  config: { type: 'string' },
  name: { type: 'string' },
  scopes: { type: 'string' },
  account: { type: 'string' },
  to: { type: 'string' },
  from: { type: 'string' },
  subject: { type: 'string' },
  text: { type: 'string' },
  html: { type: 'string' },
  query: { type: 'string' },
  limit: { type: 'string' },
  url: { type: 'string' },
  'api-key': { type: 'string' },
  destination: { type: 'string' },
  'requests-per-minute': { type: 'string' },
  'messages-per-day': { type: 'string' },
  interval: { type: 'string' },
  json: { type: 'boolean' },
  yes: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type CommandFlags = {
  [K in keyof typeof COMMAND_FLAGS]?: (typeof COMMAND_FLAGS)[K]['type'] extends 'boolean' ? boolean : string;
};

async function main(argv: string[]): Promise<number> {
  const settingFlags = Object.fromEntries(SETTINGS.map((s) => [flagName(s.key).slice(2), { type: 'string' as const }]));
  const { values, positionals } = parseArgs({ args: argv, options: { ...COMMAND_FLAGS, ...settingFlags }, allowPositionals: true, strict: true });
  const [command, sub, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const overrides = Object.fromEntries(
    SETTINGS.map((s) => [s.key, (values as Record<string, unknown>)[flagName(s.key).slice(2)]]).filter(([, v]) => v !== undefined),
  );
  const config = loadConfig({ file: values.config as string | undefined, overrides, overridesFrom: 'flags' });
  const flags = values as CommandFlags;
  switch (command) {
    case 'start':
      return startCommand(config);
    case 'keys':
      return keysCommand(config, sub, flags);
    case 'users':
      return usersCommand(config, sub, rest, flags);
    case 'accounts':
      return accountsCommand(config, sub, flags, rest);
    case 'send':
      return sendCommand(config, flags);
    case 'inbox':
      return inboxCommand(config, sub, rest, flags);
    case 'messages':
      return messagesCommand(config, sub, rest, flags);
    case 'domains':
      return domainsCommand(config, sub, rest, flags);
    case 'queue':
      return queueCommand(config, sub, rest, flags);
    case 'migrate':
      return migrateCommand(config);
    case 'capacity':
      return capacityCommand(config, [sub, ...rest].filter((a): a is string => a !== undefined), flags);
    case 'config':
      return configCommand(config, sub, rest);
    case 'slo':
      return sloCommand(config, sub, rest, flags);
    default:
      console.error(`herald: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof HeraldError) console.error(`herald: ${error.message} (${error.code})`);
    else if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) console.error(`herald: ${error.message}\n\n${USAGE}`);
    else console.error('herald:', error instanceof Error ? error.message : error);
    process.exitCode = error instanceof HeraldError || error instanceof TypeError ? 2 : 1;
  },
);
