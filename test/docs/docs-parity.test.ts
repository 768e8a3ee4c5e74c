import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CATALOGUE } from '../../src/errors.js';
import { SETTINGS, envName, flagName } from '../../src/config/settings.js';

const errorsDoc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const configDoc = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8');
const sample = JSON.parse(readFileSync(new URL('../../../herald.config.sample.json', import.meta.url), 'utf8')) as Record<string, unknown>;

test('every error code has a section and a table row in docs/errors.md with its status', () => {
  for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) {
    assert.match(errorsDoc, new RegExp(`^## ${code}$`, 'm'), `docs/errors.md lacks a section for ${code}`);
    assert.match(errorsDoc, new RegExp(`\\| \\[\`${code}\`\\]\\(#${code.toLowerCase().replaceAll('_', '-')}\\) \\| ${status} \\|`), `docs/errors.md table row for ${code} is missing or has the wrong status`);
  }
});

test('docs/errors.md documents no code that the catalogue lacks', () => {
  const documented = [...errorsDoc.matchAll(/^## (HERALD_ERR_[A-Z_]+)$/gm)].map((m) => m[1]);
  assert.deepEqual(documented.sort(), Object.keys(ERROR_CATALOGUE).sort());
});

test('every setting is in docs/config.md under its key, variable and flag', () => {
  for (const s of SETTINGS) {
    const row = configDoc.split('\n').find((line) => line.startsWith(`| \`${s.key}\` |`));
    assert.ok(row, `docs/config.md lacks ${s.key}`);
    assert.ok(row.includes(`\`${envName(s.key)}\``), `${s.key}: variable missing`);
    assert.ok(row.includes(`\`${flagName(s.key)}\``), `${s.key}: flag missing`);
    if (s.key !== 'hostname') assert.ok(row.includes(`\`${s.default === null ? '(unset)' : JSON.stringify(s.default)}\``), `${s.key}: default in docs is not ${JSON.stringify(s.default)}`);
  }
  const rows = configDoc.split('\n').filter((line) => /^\| `[a-zA-Z][a-zA-Z0-9]*` \|/.test(line));
  assert.equal(rows.length, SETTINGS.length, 'docs/config.md lists a setting that does not exist');
});

test('the sample config lists every setting at its default', () => {
  for (const s of SETTINGS) {
    if (s.key === 'hostname') continue; // machine-specific
    assert.deepEqual(sample[s.key], s.default, `herald.config.sample.json: ${s.key}`);
  }
  assert.deepEqual(Object.keys(sample).sort(), SETTINGS.map((s) => s.key).filter((k) => k !== 'hostname').sort());
});
