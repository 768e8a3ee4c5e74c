import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseKey } from '../domains/key-sealing.js';
import { parseOverrides } from '../delivery/mx/mx-override.js';
import { parseSlos } from '../ops/slo/slo-definitions.js';
import { HeraldError } from '../errors.js';
import { ROLES, SETTINGS, defaultConfig, envName, flagName, type HeraldConfig, type Setting } from './settings.js';

export interface LoadConfigOptions {
  /** Path of a JSON config file; `HERALD_CONFIG` when not given; none when neither is set. */
  file?: string | undefined;
  /** The environment to read `HERALD_*` from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Values that win over file and environment (CLI flags, tests). */
  overrides?: Partial<Record<keyof HeraldConfig, unknown>>;
  /** Names overrides in error messages as command-line flags (`--port`) rather than keys. */
  overridesFrom?: 'flags';
}

/**
 * Builds the configuration: defaults, then the config file, then `HERALD_*` variables, then
 * overrides. Every value is checked against its setting; an unknown key or a bad value stops
 * start-up with an error that names the key and where it came from.
 */
export function loadConfig(options: LoadConfigOptions = {}): HeraldConfig {
  const env = options.env ?? process.env;
  const config = defaultConfig() as unknown as Record<string, unknown>;
  const file = options.file ?? env.HERALD_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new HeraldError('HERALD_ERR_CONFIG', { message: `cannot read config file ${file}: ${(cause as Error).message}`, cause });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new HeraldError('HERALD_ERR_CONFIG', { message: `config file ${file} must hold a JSON object` });
    }
    for (const [key, value] of Object.entries(parsed)) {
      const setting = settingFor(key, `config file ${file}`);
      config[key] = checkValue(setting, value, `config file ${file}`);
    }
  }
  for (const setting of SETTINGS) {
    const raw = env[envName(setting.key)];
    if (raw !== undefined && raw !== '') config[setting.key] = parseText(setting, raw, envName(setting.key));
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) continue;
    const setting = settingFor(key, 'overrides');
    const where = options.overridesFrom === 'flags' ? flagName(key) : key;
    config[key] = typeof value === 'string' ? parseText(setting, value, where) : checkValue(setting, value, where);
  }
  return config as unknown as HeraldConfig;
}

function settingFor(key: string, where: string): Setting {
  const setting = SETTINGS.find((s) => s.key === key);
  if (!setting) throw new HeraldError('HERALD_ERR_CONFIG', { message: `unknown setting "${key}" in ${where}` });
  return setting;
}

/** Reads a value given as text (environment, CLI flag). */
export function parseText(setting: Setting, raw: string, where: string): unknown {
  switch (setting.kind) {
    case 'integer':
      if (!/^-?\d+$/.test(raw.trim())) fail(setting, raw, where, 'a whole number');
      return checkValue(setting, Number(raw), where);
    case 'nullable-integer':
      // An empty value (HERALD_INBOUND_PORT=) or "null" unsets it.
      if (raw.trim() === '' || raw.trim() === 'null') return null;
      if (!/^-?\d+$/.test(raw.trim())) fail(setting, raw, where, 'a whole number');
      return checkValue(setting, Number(raw), where);
    case 'boolean':
      if (!/^(true|false|1|0)$/i.test(raw)) fail(setting, raw, where, 'true or false');
      return /^(true|1)$/i.test(raw);
    default:
      return checkValue(setting, raw, where);
  }
}

/** Checks one setting's value as loading does (throws HERALD_ERR_CONFIG naming `where`); returns the value to use. */
export function checkSetting(key: string, value: unknown, where: string): unknown {
  return checkValue(settingFor(key, where), value, where);
}

function checkValue(setting: Setting, value: unknown, where: string): unknown {
  switch (setting.kind) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) fail(setting, value, where, 'a whole number');
      if ((setting.min !== undefined && value < setting.min) || (setting.max !== undefined && value > setting.max)) {
        fail(setting, value, where, `between ${setting.min} and ${setting.max}`);
      }
      return value;
    case 'nullable-integer':
      if (value === null) return null;
      if (typeof value !== 'number' || !Number.isInteger(value)) fail(setting, value, where, 'a whole number or null');
      if ((setting.min !== undefined && value < setting.min) || (setting.max !== undefined && value > setting.max)) {
        fail(setting, value, where, `between ${setting.min} and ${setting.max}`);
      }
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') fail(setting, value, where, 'true or false');
      return value;
    case 'enum':
      if (typeof value !== 'string' || !setting.values?.includes(value)) fail(setting, value, where, `one of ${setting.values?.join(', ')}`);
      return value;
    case 'nullable-string':
      if (value === null) return null;
      if (typeof value !== 'string') fail(setting, value, where, 'a string or null');
      if (setting.key === 'smtpRelay') checkRelayUrl(value, where);
      if (setting.key === 'dkimKeyEncryptionKey' || setting.key === 'signingKey') checkSecretKey(setting.key, value, where);
      if (setting.key === 'sendingIps' && value.split(',').some((ip) => isIP(ip.trim()) === 0)) fail(setting, value, where, 'IP addresses separated by commas');
      if (setting.key === 'spfInclude' && !/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(value)) fail(setting, value, where, 'one domain name');
      if ((setting.key === 'dnsCheckServers' || setting.key === 'dnsServers') && !/^[\w.:,\[\] -]+$/.test(value)) fail(setting, value, where, 'servers (host or host:port) separated by commas');
      if (setting.key === 'databaseUrl' && !/^postgres(ql)?:\/\//.test(value)) fail(setting, '(hidden)', where, 'a postgres:// URL');
      if (setting.key === 'databaseSchema' && !/^[a-z_][a-z0-9_]{0,62}$/.test(value)) fail(setting, value, where, 'a lowercase SQL identifier (letters, digits, _)');
      if (setting.key === 'returnPathDomain' && !/^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/.test(value)) fail(setting, value, where, 'one domain name, e.g. bounces.example.com');
      if (setting.key === 'trackingBaseUrl' && !isBaseUrl(value)) fail(setting, value, where, 'an http:// or https:// URL without query or fragment');
      if (setting.key === 'trustProxy' && !/^(true|\d{1,3}|[0-9A-Fa-f.:\/, ]+)$/.test(value)) fail(setting, value, where, 'true, a hop count, or addresses and CIDRs separated by commas');
      if (setting.key === 'dmarcRua' && !/^[^\s@;,!]+@[^\s@;,!]+$/.test(value)) fail(setting, value, where, 'an email address');
      return value;
    case 'string':
      if (typeof value !== 'string' || value === '') fail(setting, value, where, 'a non-empty string');
      if (setting.key === 'roles') {
        const roles = value.split(',').map((r) => r.trim());
        if (roles.some((r) => !(ROLES as readonly string[]).includes(r))) fail(setting, value, where, `roles from ${ROLES.join(', ')}, comma-separated`);
        return roles.join(',');
      }
      return value;
    case 'json':
      return checkJson(setting, value, where);
  }
}

const MAX_MAP_ENTRIES = 10_000;

/** The map-valued settings: given as a JSON object in the file, as JSON text in the environment. */
function checkJson(setting: Setting, value: unknown, where: string): unknown {
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      fail(setting, value, where, setting.key === 'sloAlertWebhookUrls' ? 'a JSON array of URLs' : 'a JSON object');
    }
  }
  if (setting.key === 'sloAlertWebhookUrls') return checkUrlList(setting, value, where);
  if (setting.key === 'slos') return parseSlos(value, where);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(setting, value, where, 'a JSON object');
  const entries = Object.entries(value);
  // Every process holds these maps and live changes carry them whole: keep them to a size an
  // operator writes by hand.
  if (entries.length > MAX_MAP_ENTRIES) fail(setting, `(${entries.length} entries)`, where, `at most ${MAX_MAP_ENTRIES} domains`);
  if (setting.key === 'mxOverrides') {
    try {
      parseOverrides(value as Record<string, string[]>, 25);
    } catch (error) {
      throw new HeraldError('HERALD_ERR_CONFIG', { message: `${(error as Error).message} (from ${where})` });
    }
  }
  if (setting.key === 'destinationOverrides') {
    const limits: Record<string, [number, number]> = { maxConnections: [1, 1000], maxMessagesPerConnection: [1, 100_000], messagesPerSecond: [0, 100_000] };
    for (const [domain, override] of entries) {
      if (!/^[a-z0-9.-]+$/i.test(domain)) fail(setting, domain, where, 'keyed by domain names');
      if (typeof override !== 'object' || override === null || Array.isArray(override)) fail(setting, override, where, `an object of limits for ${domain}`);
      for (const [name, n] of Object.entries(override)) {
        const range = limits[name];
        if (!range) fail(setting, name, where, `limits named ${Object.keys(limits).join(', ')} (${domain})`);
        if (typeof n !== 'number' || !Number.isInteger(n) || n < range[0] || n > range[1]) fail(setting, n, where, `a whole number between ${range[0]} and ${range[1]} for ${domain}.${name}`);
      }
    }
    // Domains are matched lowercased.
    return Object.fromEntries(entries.map(([domain, override]) => [domain.toLowerCase().replace(/\.$/, ''), override]));
  }
  return value;
}

/** A short list of http(s) URLs without spaces or line breaks (they go into requests). */
function checkUrlList(setting: Setting, value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.length > 10) fail(setting, Array.isArray(value) ? `(${value.length} URLs)` : typeof value, where, 'a JSON array of at most 10 URLs');
  for (const url of value) {
    let parsed: URL | null = null;
    try {
      parsed = typeof url === 'string' && url.length <= 2000 && !/[\s\0-\x1f\x7f]/.test(url) ? new URL(url) : null;
    } catch {
      parsed = null;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || !parsed.hostname) fail(setting, '(an entry)', where, `http:// or https:// URLs; entry ${value.indexOf(url) + 1} is not one`);
  }
  return [...(value as string[])];
}

function checkRelayUrl(value: string, where: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HeraldError('HERALD_ERR_CONFIG', { message: `smtpRelay from ${where} is not a URL (expected smtp://user:pass@host:port)` });
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new HeraldError('HERALD_ERR_CONFIG', { message: `smtpRelay from ${where} must use smtp:// or smtps://, not ${url.protocol}//` });
  }
  if (!url.hostname) throw new HeraldError('HERALD_ERR_CONFIG', { message: `smtpRelay from ${where} names no host` });
}

function checkSecretKey(key: string, value: string, where: string): void {
  try {
    parseKey(value);
  } catch {
    throw new HeraldError('HERALD_ERR_CONFIG', { message: `${key} from ${where} must be 32 bytes as 64 hex digits or 44 base64 characters (make one: openssl rand -base64 32)` });
  }
}

function fail(setting: Setting, value: unknown, where: string, expected: string): never {
  // The relay URL may hold a password and the sealing key is a secret: never echo their values.
  // Alert webhook URLs may carry a token.
  const shown = setting.key === 'smtpRelay' || setting.key === 'dkimKeyEncryptionKey' || setting.key === 'signingKey' || setting.key === 'databaseUrl' || (setting.key === 'sloAlertWebhookUrls' && typeof value === 'string') ? '(hidden)' : JSON.stringify(value);
  throw new HeraldError('HERALD_ERR_CONFIG', { message: `${setting.key} from ${where} must be ${expected}, got ${shown}` });
}

function isBaseUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}
