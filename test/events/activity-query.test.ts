import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { HeraldError } from '../../src/errors.js';
import {
  ACTIVITY_QUERY_MAX_DEPTH,
  ACTIVITY_QUERY_MAX_LENGTH,
  parseActivityQuery,
  type ActivityField,
  type ActivityFilter,
} from '../../src/events/activity-query.js';
import { activityFilterToSql } from '../../src/events/activity-query-sql.js';

const T1 = Date.UTC(2017, 10, 7, 23, 13, 58); // 2017-11-07T23:13:58Z
const T2 = Date.UTC(2017, 10, 8, 23, 13, 58); // 2017-11-08T23:13:58Z

function eq(field: ActivityField, value: string): ActivityFilter {
  return { kind: 'compare', field, op: '=', value };
}

/** Asserts the query is refused with HERALD_ERR_INVALID_QUERY and a message matching `pattern`. */
function assertInvalid(query: string, pattern: RegExp): void {
  assert.throws(
    () => parseActivityQuery(query),
    (error: unknown) => {
      assert.ok(error instanceof HeraldError);
      assert.equal(error.code, 'HERALD_ERR_INVALID_QUERY');
      assert.equal(error.status, 400);
      assert.equal(error.field, 'query');
      assert.match(error.message, pattern);
      return true;
    },
  );
}

// ---- syntax forms ----

test('a double-quoted equality parses to a compare', () => {
  assert.deepEqual(parseActivityQuery('to_email="a@example.com"'), eq('to_email', 'a@example.com'));
});

test('single quotes and spaces around = are accepted', () => {
  assert.deepEqual(parseActivityQuery("  subject = 'A Great Subject'  "), eq('subject', 'A Great Subject'));
});

test('backslash escapes quotes and backslashes inside strings', () => {
  assert.deepEqual(parseActivityQuery('subject="say \\"hi\\""'), eq('subject', 'say "hi"'));
  assert.deepEqual(parseActivityQuery("subject='it\\'s'"), eq('subject', "it's"));
  assert.deepEqual(parseActivityQuery('subject="back\\\\slash"'), eq('subject', 'back\\slash'));
  assert.deepEqual(parseActivityQuery(`subject="it's"`), eq('subject', "it's"));
});

test('!= and <> both parse to a not-equal compare', () => {
  const expected: ActivityFilter = { kind: 'compare', field: 'status', op: '!=', value: 'delivered' };
  assert.deepEqual(parseActivityQuery('status!="delivered"'), expected);
  assert.deepEqual(parseActivityQuery("status <> 'delivered'"), expected);
});

test('LIKE and NOT LIKE keep % wildcards in the value', () => {
  assert.deepEqual(parseActivityQuery("msg_id LIKE 'abc%'"), { kind: 'compare', field: 'msg_id', op: 'like', value: 'abc%' });
  assert.deepEqual(parseActivityQuery('from_email NOT LIKE "%@spam.example"'), {
    kind: 'compare',
    field: 'from_email',
    op: 'not like',
    value: '%@spam.example',
  });
});

test('IN and NOT IN parse their value lists', () => {
  assert.deepEqual(parseActivityQuery('status IN ("processed","delivered")'), {
    kind: 'in',
    field: 'status',
    negated: false,
    values: ['processed', 'delivered'],
  });
  assert.deepEqual(parseActivityQuery("template_id NOT IN ('t1')"), { kind: 'in', field: 'template_id', negated: true, values: ['t1'] });
});

test('Contains(categories,"x") parses to a contains filter', () => {
  assert.deepEqual(parseActivityQuery('Contains(categories,"welcome")'), { kind: 'contains', field: 'categories', value: 'welcome' });
  assert.deepEqual(parseActivityQuery("Contains( categories , 'a b' )"), { kind: 'contains', field: 'categories', value: 'a b' });
});

test('last_event_time BETWEEN TIMESTAMP ... AND TIMESTAMP ... gives inclusive epoch ms', () => {
  assert.deepEqual(
    parseActivityQuery('last_event_time BETWEEN TIMESTAMP "2017-11-07T23:13:58Z" AND TIMESTAMP "2017-11-08T23:13:58Z"'),
    { kind: 'between', field: 'last_event_time', from: T1, to: T2 },
  );
});

test('last_event_time comparisons with >, <, >=, <= and = take a TIMESTAMP', () => {
  for (const op of ['>', '<', '>=', '<=', '='] as const) {
    assert.deepEqual(parseActivityQuery(`last_event_time ${op} TIMESTAMP "2017-11-07T23:13:58Z"`), {
      kind: 'time',
      field: 'last_event_time',
      op,
      at: T1,
    });
  }
});

test('timestamps honour zone offsets and fractional seconds', () => {
  const parsed = parseActivityQuery('last_event_time>TIMESTAMP "2017-11-08T01:13:58.25+02:00"');
  assert.deepEqual(parsed, { kind: 'time', field: 'last_event_time', op: '>', at: T1 + 250 });
});

test('api_key_id and template_id are known fields', () => {
  assert.deepEqual(parseActivityQuery('api_key_id="k1"'), eq('api_key_id', 'k1'));
  assert.deepEqual(parseActivityQuery('template_id="d-1"'), eq('template_id', 'd-1'));
});

// ---- precedence and keywords ----

test('AND binds tighter than OR', () => {
  assert.deepEqual(parseActivityQuery('status="a" OR status="b" AND subject="c"'), {
    kind: 'or',
    left: eq('status', 'a'),
    right: { kind: 'and', left: eq('status', 'b'), right: eq('subject', 'c') },
  });
  assert.deepEqual(parseActivityQuery('status="a" AND status="b" OR subject="c"'), {
    kind: 'or',
    left: { kind: 'and', left: eq('status', 'a'), right: eq('status', 'b') },
    right: eq('subject', 'c'),
  });
});

test('chains of AND associate to the left', () => {
  assert.deepEqual(parseActivityQuery('status="a" AND status="b" AND status="c"'), {
    kind: 'and',
    left: { kind: 'and', left: eq('status', 'a'), right: eq('status', 'b') },
    right: eq('status', 'c'),
  });
});

test('parentheses override precedence', () => {
  assert.deepEqual(parseActivityQuery('(status="a" OR status="b") AND subject="c"'), {
    kind: 'and',
    left: { kind: 'or', left: eq('status', 'a'), right: eq('status', 'b') },
    right: eq('subject', 'c'),
  });
});

test('NOT negates a comparison, a group or a Contains', () => {
  assert.deepEqual(parseActivityQuery('NOT status="a" AND subject="b"'), {
    kind: 'and',
    left: { kind: 'not', inner: eq('status', 'a') },
    right: eq('subject', 'b'),
  });
  assert.deepEqual(parseActivityQuery('NOT (status="a" OR subject="b")'), {
    kind: 'not',
    inner: { kind: 'or', left: eq('status', 'a'), right: eq('subject', 'b') },
  });
  assert.deepEqual(parseActivityQuery('not Contains(categories,"x")'), {
    kind: 'not',
    inner: { kind: 'contains', field: 'categories', value: 'x' },
  });
});

test('keywords are case-insensitive', () => {
  const parsed = parseActivityQuery(
    'msg_id like "a%" and status not in ("x") Or contains(categories,"c") aNd ' +
      'not last_event_time between timestamp "2017-11-07T23:13:58Z" AnD TimeStamp "2017-11-08T23:13:58Z"',
  );
  assert.deepEqual(parsed, {
    kind: 'or',
    left: {
      kind: 'and',
      left: { kind: 'compare', field: 'msg_id', op: 'like', value: 'a%' },
      right: { kind: 'in', field: 'status', negated: true, values: ['x'] },
    },
    right: {
      kind: 'and',
      left: { kind: 'contains', field: 'categories', value: 'c' },
      right: { kind: 'not', inner: { kind: 'between', field: 'last_event_time', from: T1, to: T2 } },
    },
  });
});

test('field names are case-sensitive and the error suggests the lower-case name', () => {
  assertInvalid('TO_EMAIL="a@example.com"', /unknown field 'TO_EMAIL'.*did you mean to_email.*at offset 0/);
});

// ---- errors ----

test('an unknown field is refused with its name and offset', () => {
  assertInvalid('status="a" AND outbound_ip="1.2.3.4"', /unknown field 'outbound_ip'.*at offset 15$/);
});

test('an unterminated string is refused at the opening quote', () => {
  assertInvalid('subject="hello', /unterminated string.*at offset 8$/);
  assertInvalid("subject='it\\'", /unterminated string.*at offset 8$/);
});

test('a malformed TIMESTAMP is refused with the reason', () => {
  assertInvalid('last_event_time > TIMESTAMP "yesterday"', /bad TIMESTAMP "yesterday".*RFC 3339.*at offset 28$/);
  assertInvalid('last_event_time > TIMESTAMP "2017-11-07T23:13:58"', /bad TIMESTAMP.*at offset 28$/);
  assertInvalid('last_event_time > TIMESTAMP "2017-02-30T00:00:00Z"', /day 30 does not exist in 2017-02.*at offset 28$/);
  assertInvalid('last_event_time > TIMESTAMP "2017-13-01T00:00:00Z"', /month 13 is out of range/);
  assertInvalid('last_event_time > "2017-11-07T23:13:58Z"', /expected TIMESTAMP.*at offset 18$/);
});

test('BETWEEN whose end comes before its start is refused', () => {
  assertInvalid(
    'last_event_time BETWEEN TIMESTAMP "2017-11-08T23:13:58Z" AND TIMESTAMP "2017-11-07T23:13:58Z"',
    /BETWEEN range ends before it starts at offset 61$/,
  );
});

test('trailing garbage after a complete query is refused', () => {
  assertInvalid('status="a" status="b"', /unexpected 'status'.*at offset 11$/);
  assertInvalid('status="a")', /unmatched '\)' at offset 10$/);
  assertInvalid('status="a" AND', /expected a field name.*the end of the query at offset 14$/);
  assertInvalid('status="a" ; DROP TABLE x', /unexpected character ";" at offset 11$/);
});

test('an empty or blank query is refused', () => {
  assertInvalid('', /query is empty at offset 0/);
  assertInvalid('   \t ', /query is empty at offset 0/);
});

test('a query over 2,000 characters is refused', () => {
  const ok = `subject="${'x'.repeat(ACTIVITY_QUERY_MAX_LENGTH - 10)}"`;
  assert.equal(ok.length, ACTIVITY_QUERY_MAX_LENGTH);
  assert.equal(parseActivityQuery(ok).kind, 'compare');
  assertInvalid(`${ok} `, /query is 2001 characters long; the limit is 2000 at offset 2000/);
});

test('nesting deeper than 20 levels is refused at the offending parenthesis', () => {
  const nest = (n: number): string => `${'('.repeat(n)}status="a"${')'.repeat(n)}`;
  assert.deepEqual(parseActivityQuery(nest(ACTIVITY_QUERY_MAX_DEPTH)), eq('status', 'a'));
  assertInvalid(nest(ACTIVITY_QUERY_MAX_DEPTH + 1), /nesting is deeper than 20 levels at offset 20$/);
  assertInvalid(`${'NOT '.repeat(21)}status="a"`, /nesting is deeper than 20 levels at offset 80$/);
});

test('a missing closing parenthesis names the opening one', () => {
  assertInvalid('(status="a" OR status="b"', /expected '\)' to close the '\(' at offset 0, found the end of the query at offset 25$/);
});

test('operators that do not fit the field are refused', () => {
  assertInvalid('subject > TIMESTAMP "2017-11-07T23:13:58Z"', /operator > applies only to last_event_time, not subject at offset 8$/);
  assertInvalid('categories LIKE "a%"', /LIKE does not apply to the array field categories/);
  assertInvalid('Contains(subject,"a")', /Contains\(\) applies to the array field categories, not subject at offset 9$/);
  assertInvalid('status BETWEEN "a" AND "b"', /BETWEEN applies only to last_event_time/);
  assertInvalid('last_event_time LIKE "2017%"', /expected a comparison .* or BETWEEN after last_event_time/);
  assertInvalid('status = delivered', /expected a quoted string after = but found 'delivered' at offset 9$/);
  assertInvalid('status IN ()', /expected a quoted string in the IN list but found '\)' at offset 11$/);
});

test('unique_args is refused as unsupported', () => {
  assertInvalid('unique_args="x"', /unique_args field is not supported at offset 0/);
});

test('a LIKE pattern with a stray backslash is refused', () => {
  assertInvalid('subject LIKE "a\\b"', /backslash that does not escape %, _ or \\ at offset 13$/);
  assert.deepEqual(parseActivityQuery('subject LIKE "100\\%"'), { kind: 'compare', field: 'subject', op: 'like', value: '100\\%' });
});

// ---- SQL against a real SQLite database ----

const COLUMNS: Record<ActivityField, string> = {
  to_email: 'to_email',
  from_email: 'from_email',
  subject: 'subject',
  status: 'status',
  msg_id: 'msg_id',
  categories: 'categories',
  template_id: 'template_id',
  api_key_id: 'api_key_id',
  last_event_time: 'last_event_time',
  unique_args: 'unique_args',
};

interface Row {
  msg_id: string;
  to_email: string;
  from_email: string;
  subject: string;
  status: string;
  categories: string[];
  template_id: string | null;
  last_event_time: number;
}

const ROWS: Row[] = [
  { msg_id: 'abc1', to_email: 'ann@example.com', from_email: 'shop@herald.test', subject: 'Welcome Ann', status: 'delivered', categories: ['welcome', 'promo'], template_id: 't1', last_event_time: T1 },
  { msg_id: 'abc2', to_email: 'bob@example.com', from_email: 'shop@herald.test', subject: '100% off', status: 'processed', categories: ['promotion'], template_id: null, last_event_time: T1 + 1000 },
  { msg_id: 'xyz3', to_email: 'cat@example.org', from_email: 'news@herald.test', subject: '1000 offers', status: 'not_delivered', categories: ['say "hi"', 'Promo'], template_id: 't2', last_event_time: T2 },
  { msg_id: 'xyz4', to_email: 'dan@example.org', from_email: 'news@herald.test', subject: "it's news", status: 'delivered', categories: [], template_id: 't1', last_event_time: T2 + 1 },
];

function openDb(): Database.Database {
  const db = new Database(':memory:');
  db.exec(`CREATE TABLE messages (
    msg_id TEXT PRIMARY KEY, to_email TEXT, from_email TEXT, subject TEXT, status TEXT,
    categories TEXT, template_id TEXT, api_key_id TEXT, last_event_time INTEGER, unique_args TEXT)`);
  const insert = db.prepare(
    `INSERT INTO messages (msg_id, to_email, from_email, subject, status, categories, template_id, last_event_time)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const r of ROWS) {
    insert.run(r.msg_id, r.to_email, r.from_email, r.subject, r.status, JSON.stringify(r.categories), r.template_id, r.last_event_time);
  }
  return db;
}

function withDb(run: (select: (query: string) => string[]) => void): void {
  const db = openDb();
  try {
    run((query) => {
      const { sql, params } = activityFilterToSql(parseActivityQuery(query), COLUMNS);
      const rows = db.prepare(`SELECT msg_id FROM messages WHERE ${sql} ORDER BY msg_id`).all(...params) as { msg_id: string }[];
      return rows.map((row) => row.msg_id);
    });
  } finally {
    db.close();
  }
}

test('SQL: = and != select exact matches, and != includes NULL columns', () => {
  withDb((select) => {
    assert.deepEqual(select('status="delivered"'), ['abc1', 'xyz4']);
    assert.deepEqual(select('status="Delivered"'), []);
    assert.deepEqual(select("subject='it\\'s news'"), ['xyz4']);
    assert.deepEqual(select('template_id != "t1"'), ['abc2', 'xyz3']);
    assert.deepEqual(select('NOT template_id = "t1"'), ['abc2', 'xyz3']);
  });
});

test('SQL: LIKE matches % and _ wildcards case-insensitively, and \\% is a literal percent', () => {
  withDb((select) => {
    assert.deepEqual(select("msg_id LIKE 'abc%'"), ['abc1', 'abc2']);
    assert.deepEqual(select("msg_id LIKE 'ABC_'"), ['abc1', 'abc2']);
    assert.deepEqual(select('to_email NOT LIKE "%@example.com"'), ['xyz3', 'xyz4']);
    assert.deepEqual(select('subject LIKE "100%"'), ['abc2', 'xyz3']);
    assert.deepEqual(select('subject LIKE "100\\%%"'), ['abc2']);
  });
});

test('SQL: IN and NOT IN select by list, NOT IN including NULL columns', () => {
  withDb((select) => {
    assert.deepEqual(select('status IN ("processed", "not_delivered")'), ['abc2', 'xyz3']);
    assert.deepEqual(select('template_id NOT IN ("t1")'), ['abc2', 'xyz3']);
  });
});

test('SQL: Contains(categories) matches whole elements, case-sensitively, even with quotes', () => {
  withDb((select) => {
    assert.deepEqual(select('Contains(categories,"promo")'), ['abc1']);
    assert.deepEqual(select('Contains(categories,"Promo")'), ['xyz3']);
    assert.deepEqual(select('Contains(categories,"promotion")'), ['abc2']);
    assert.deepEqual(select('Contains(categories,"prom")'), []);
    assert.deepEqual(select('Contains(categories,"say \\"hi\\"")'), ['xyz3']);
    assert.deepEqual(select('Contains(categories,"%")'), []);
    assert.deepEqual(select('NOT Contains(categories,"promo")'), ['abc2', 'xyz3', 'xyz4']);
  });
});

test('SQL: = , != and IN on categories test membership', () => {
  withDb((select) => {
    assert.deepEqual(select('categories="welcome"'), ['abc1']);
    assert.deepEqual(select('categories!="welcome"'), ['abc2', 'xyz3', 'xyz4']);
    assert.deepEqual(select('categories IN ("welcome","promotion")'), ['abc1', 'abc2']);
    assert.deepEqual(select('categories NOT IN ("welcome","promotion")'), ['xyz3', 'xyz4']);
  });
});

test('SQL: time comparisons and BETWEEN are inclusive where they should be', () => {
  withDb((select) => {
    const t1 = 'TIMESTAMP "2017-11-07T23:13:58Z"';
    const t2 = 'TIMESTAMP "2017-11-08T23:13:58Z"';
    assert.deepEqual(select(`last_event_time BETWEEN ${t1} AND ${t2}`), ['abc1', 'abc2', 'xyz3']);
    assert.deepEqual(select(`last_event_time > ${t1}`), ['abc2', 'xyz3', 'xyz4']);
    assert.deepEqual(select(`last_event_time >= ${t1}`), ['abc1', 'abc2', 'xyz3', 'xyz4']);
    assert.deepEqual(select(`last_event_time < ${t2}`), ['abc1', 'abc2']);
    assert.deepEqual(select(`last_event_time <= ${t2}`), ['abc1', 'abc2', 'xyz3']);
    assert.deepEqual(select(`last_event_time = ${t2}`), ['xyz3']);
    assert.deepEqual(select(`last_event_time != ${t2}`), ['abc1', 'abc2', 'xyz4']);
  });
});

test('SQL: AND, OR, NOT and parentheses combine as parsed', () => {
  withDb((select) => {
    assert.deepEqual(select('status="processed" OR status="delivered" AND template_id="t1"'), ['abc1', 'abc2', 'xyz4']);
    assert.deepEqual(select('(status="processed" OR status="delivered") AND from_email="news@herald.test"'), ['xyz4']);
    assert.deepEqual(select('NOT (status="delivered" OR Contains(categories,"Promo"))'), ['abc2']);
  });
});

test('SQL: values travel only as parameters', () => {
  const hostile = `x' OR '1'='1`;
  const { sql, params } = activityFilterToSql(parseActivityQuery(`subject="${hostile}" OR msg_id LIKE "a%"`), COLUMNS);
  assert.ok(!sql.includes(hostile));
  assert.ok(!sql.includes('a%'));
  assert.deepEqual(params, [hostile, 'a%']);
  assert.equal(sql.split('?').length - 1, params.length);
  withDb((select) => assert.deepEqual(select(`subject="${hostile}"`), []));
});
