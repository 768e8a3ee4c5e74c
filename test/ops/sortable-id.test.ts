import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sortableId } from '../../src/ops/random-pool.js';
import { newId } from '../../src/message/expand.js';
import { newEventId } from '../../src/events/event.js';

test('ids are 22 letters and digits, the shape of an X-Message-Id, and do not repeat', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const id = i % 2 === 0 ? newId() : newEventId();
    assert.match(id, /^[A-Za-z0-9]{22}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 20_000);
});

test('ids made later sort later, byte for byte, across the years', () => {
  const times = [0, 1, 61, 62, 3_843, 3_844, Date.UTC(2026, 10, 23), Date.UTC(2026, 10, 23) + 1, Date.UTC(2100, 0, 1), Date.UTC(8000, 0, 1)];
  const ids = times.map((t) => sortableId(t));
  // Plain string comparison is what SQLite's BINARY collation and a B-tree index use.
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} (${times[i - 1]}) sorts before ${ids[i]} (${times[i]})`);
  // The same millisecond shares the 8-character time prefix; the rest is random.
  const a = sortableId(1_000_000);
  const b = sortableId(1_000_000);
  assert.equal(a.slice(0, 8), b.slice(0, 8));
  assert.notEqual(a, b);
});
