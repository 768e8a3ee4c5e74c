import { readFileSync } from 'node:fs';

/** Placeholders a fixture under test/fixtures/inbound may hold, filled in for the message under test. */
export interface FixtureValues {
  RETURN_PATH?: string;
  RECIPIENT?: string;
  MESSAGE_ID?: string;
  FBL_ADDRESS?: string;
}

/** Reads a fixture (from dist/test/inbound, three levels up to the sources) and fills its placeholders. */
export function fixture(name: string, values: FixtureValues = {}): Buffer {
  const text = readFileSync(new URL(`../../../test/fixtures/inbound/${name}`, import.meta.url), 'utf8');
  const filled = text.replace(/\{\{([A-Z_]+)\}\}/g, (whole, key: string) => values[key as keyof FixtureValues] ?? whole);
  return Buffer.from(filled.replace(/\r?\n/g, '\r\n'));
}
