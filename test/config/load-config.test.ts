import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { defaultConfig } from '../../src/config/settings.js';
import { HeraldError } from '../../src/errors.js';
import { tempDataDir } from '../support/test-herald.js';

function configError(fn: () => unknown): HeraldError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof HeraldError);
    assert.equal(error.code, 'HERALD_ERR_CONFIG');
    return error;
  }
  assert.fail('expected HERALD_ERR_CONFIG');
}

test('with nothing set, the configuration is the defaults', () => {
  assert.deepEqual(loadConfig({ env: {} }), defaultConfig());
});

test('file, then environment, then overrides: each later source wins', () => {
  const dir = tempDataDir();
  const file = join(dir, 'herald.json');
  writeFileSync(file, JSON.stringify({ port: 4000, smtpPoolSize: 3, logLevel: 'warn' }));
  try {
    const config = loadConfig({ file, env: { HERALD_PORT: '5000', HERALD_SMTP_RELAY: 'smtp://u:p@relay.example.com:587' }, overrides: { logLevel: 'debug' } });
    assert.equal(config.port, 5000);
    assert.equal(config.smtpPoolSize, 3);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.smtpRelay, 'smtp://u:p@relay.example.com:587');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('HERALD_CONFIG names the file when no file is given', () => {
  const dir = tempDataDir();
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ deliveryConcurrency: 7 }));
  try {
    assert.equal(loadConfig({ env: { HERALD_CONFIG: file } }).deliveryConcurrency, 7);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('booleans and integers from the environment are parsed strictly', () => {
  assert.equal(loadConfig({ env: { HERALD_SMTP_RELAY_TLS_VERIFY: 'false' } }).smtpRelayTlsVerify, false);
  assert.match(configError(() => loadConfig({ env: { HERALD_SMTP_RELAY_TLS_VERIFY: 'nope' } })).message, /smtpRelayTlsVerify.*true or false/);
  assert.match(configError(() => loadConfig({ env: { HERALD_PORT: '80a' } })).message, /port from HERALD_PORT must be a whole number/);
  assert.match(configError(() => loadConfig({ env: { HERALD_PORT: '70000' } })).message, /between 0 and 65535/);
});

test('an unknown key in the file is refused by name', () => {
  const dir = tempDataDir();
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ prot: 1 }));
  try {
    assert.match(configError(() => loadConfig({ file, env: {} })).message, /unknown setting "prot"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a config file that is not JSON, or not an object, is refused', () => {
  const dir = tempDataDir();
  const file = join(dir, 'c.json');
  try {
    writeFileSync(file, '{ port: 1');
    assert.match(configError(() => loadConfig({ file, env: {} })).message, /cannot read config file/);
    writeFileSync(file, '[1,2]');
    assert.match(configError(() => loadConfig({ file, env: {} })).message, /JSON object/);
    assert.match(configError(() => loadConfig({ file: join(dir, 'missing.json'), env: {} })).message, /cannot read config file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a relay URL must be smtp or smtps, and its password is never echoed', () => {
  assert.match(configError(() => loadConfig({ env: { HERALD_SMTP_RELAY: 'http://relay' } })).message, /smtp:\/\/ or smtps:\/\//);
  assert.match(configError(() => loadConfig({ env: { HERALD_SMTP_RELAY: 'not a url' } })).message, /not a URL/);
  const e = configError(() => loadConfig({ overrides: { smtpRelay: 42 }, env: {} }));
  assert.doesNotMatch(e.message, /42/);
});

test('log level must be one of the known levels', () => {
  assert.match(configError(() => loadConfig({ env: { HERALD_LOG_LEVEL: 'loud' } })).message, /logLevel.*one of/);
});
