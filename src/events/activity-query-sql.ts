import { HeraldError } from '../errors.js';
import type { ActivityField, ActivityFilter } from './activity-query.js';

/**
 * Compiles an Email Activity filter into a parameterised SQL boolean expression that SQLite and
 * PostgreSQL evaluate alike (PostgreSQL callers rewrite each `?` to `$n`, in order). Values only
 * ever travel as parameters.
 *
 * `columns` maps each field to a trusted SQL column expression (never user input). Expected column
 * contents: `last_event_time` epoch milliseconds as an integer; `categories` the text of a JSON
 * array of strings as `JSON.stringify` writes it (`["a","b"]`); the other fields plain text.
 *
 * Every leaf is two-valued: a NULL column makes `=`, LIKE, IN, Contains and time tests false and
 * `!=`, NOT LIKE and NOT IN true, so NOT always selects exactly the rows its operand does not.
 */
export function activityFilterToSql(
  filter: ActivityFilter,
  columns: Record<ActivityField, string>,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const sql = compile(filter, columns, params);
  return { sql, params };
}

// Params are pushed in the order their `?` appear in the text, which the caller's rewrite relies on.
function compile(filter: ActivityFilter, columns: Record<ActivityField, string>, params: unknown[]): string {
  switch (filter.kind) {
    case 'and':
    case 'or': {
      const left = compile(filter.left, columns, params);
      const right = compile(filter.right, columns, params);
      return `(${left} ${filter.kind.toUpperCase()} ${right})`;
    }
    case 'not':
      return `(NOT ${compile(filter.inner, columns, params)})`;
    case 'compare':
      return compileCompare(filter, columns[filter.field], params);
    case 'in':
      return compileIn(filter, columns[filter.field], params);
    case 'contains':
      return categoryMember(columns[filter.field], filter.value, params);
    case 'time':
      params.push(filter.at);
      return `(${columns.last_event_time} IS NOT NULL AND ${columns.last_event_time} ${filter.op} ?)`;
    case 'between':
      params.push(filter.from, filter.to);
      return `(${columns.last_event_time} IS NOT NULL AND ${columns.last_event_time} BETWEEN ? AND ?)`;
  }
}

function compileCompare(filter: Extract<ActivityFilter, { kind: 'compare' }>, column: string, params: unknown[]): string {
  if (filter.field === 'categories') {
    if (filter.op === '=') return categoryMember(column, filter.value, params);
    if (filter.op === '!=') return `(NOT ${categoryMember(column, filter.value, params)})`;
    throw new HeraldError('HERALD_ERR_INVALID_QUERY', {
      message: 'invalid query: LIKE does not apply to the array field categories',
      field: 'query',
    });
  }
  params.push(filter.value);
  switch (filter.op) {
    case '=':
      return `(${column} IS NOT NULL AND ${column} = ?)`;
    case '!=':
      return `(${column} IS NULL OR ${column} <> ?)`;
    // SQLite's LIKE folds ASCII case and PostgreSQL's does not; LOWER() on both sides makes them
    // agree. ESCAPE is explicit because SQLite has no default escape and PostgreSQL's is `\`.
    case 'like':
      return `(${column} IS NOT NULL AND LOWER(${column}) LIKE LOWER(?) ESCAPE '\\')`;
    case 'not like':
      return `(${column} IS NULL OR LOWER(${column}) NOT LIKE LOWER(?) ESCAPE '\\')`;
  }
}

function compileIn(filter: Extract<ActivityFilter, { kind: 'in' }>, column: string, params: unknown[]): string {
  if (filter.values.length === 0) return filter.negated ? '(1 = 1)' : '(1 = 0)';
  if (filter.field === 'categories') {
    const any = `(${filter.values.map((value) => categoryMember(column, value, params)).join(' OR ')})`;
    return filter.negated ? `(NOT ${any})` : any;
  }
  params.push(...filter.values);
  const list = filter.values.map(() => '?').join(', ');
  return filter.negated
    ? `(${column} IS NULL OR ${column} NOT IN (${list}))`
    : `(${column} IS NOT NULL AND ${column} IN (${list}))`;
}

/**
 * True when the JSON array text in `column` holds `value` as an element. It looks for the element's
 * JSON form, quotes included (`"a"`), so "promo" does not match "promotion"; JSON escapes every `"`
 * inside a string, so only an element that itself contains a quote could alias another.
 * `column <> REPLACE(column, needle, '')` is a substring test that SQLite and PostgreSQL both
 * evaluate case-sensitively, which LIKE is not (SQLite folds ASCII case), and it needs no escaping.
 */
function categoryMember(column: string, value: string, params: unknown[]): string {
  params.push(JSON.stringify(value));
  return `(${column} IS NOT NULL AND ${column} <> REPLACE(${column}, ?, ''))`;
}
