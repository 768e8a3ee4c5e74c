import { HeraldError } from '../errors.js';
import type { ActivityField, ActivityFilter } from './activity-query.js';

/**
 * How the compiled SQL names its parameters and folds case. `sqlite` (the default): `?` and
 * LOWER(), which folds ASCII only. `postgres`: `$n`, numbered from `firstParam` (the statement's
 * earlier parameters come before), and an ASCII-only fold, since PostgreSQL's LOWER() also folds
 * other letters (by the database's locale) and results must not depend on the backend.
 */
export type SqlDialect = { kind: 'sqlite' } | { kind: 'postgres'; firstParam: number };

const ASCII_UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * Fields compared without regard to ASCII case: addresses are stored as the sender wrote them, and
 * `to_email="Ann@Example.com"` must find ann@example.com (domains are case-insensitive, RFC 5321
 * §2.4, and mailbox providers treat local parts the same way). The column is folded in SQL and the
 * value here, so the planner can use an index on the folded column (migrations: SQLite 10,
 * PostgreSQL 7).
 */
const CASE_INSENSITIVE: ReadonlySet<ActivityField> = new Set(['to_email', 'from_email']);

/** The same fold as SQLite's LOWER() and Params.lower: ASCII letters only. */
function foldAscii(value: string): string {
  return value.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Pushes parameters and writes their placeholders, and case-folds an expression, per dialect. */
class Params {
  readonly values: unknown[] = [];
  constructor(private readonly dialect: SqlDialect) {}

  /** Adds a value; returns its placeholder. */
  add(value: unknown): string {
    this.values.push(value);
    return this.dialect.kind === 'postgres' ? `$${this.dialect.firstParam + this.values.length - 1}` : '?';
  }

  lower(expression: string): string {
    return this.dialect.kind === 'postgres'
      ? `translate(${expression}, '${ASCII_UPPER}', '${ASCII_UPPER.toLowerCase()}')`
      : `LOWER(${expression})`;
  }
}

/**
 * Compiles an Email Activity filter into a parameterised SQL boolean expression that SQLite and
 * PostgreSQL evaluate alike (see SqlDialect for how the text differs). Values only ever travel as
 * parameters.
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
  dialect: SqlDialect = { kind: 'sqlite' },
): { sql: string; params: unknown[] } {
  const params = new Params(dialect);
  const sql = compile(filter, columns, params);
  return { sql, params: params.values };
}

// Params are pushed in the order their placeholders appear in the text (`?` binds by position).
function compile(filter: ActivityFilter, columns: Record<ActivityField, string>, params: Params): string {
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
      return `(${columns.last_event_time} IS NOT NULL AND ${columns.last_event_time} ${filter.op} ${params.add(filter.at)})`;
    case 'between': {
      const from = params.add(filter.from);
      const to = params.add(filter.to);
      return `(${columns.last_event_time} IS NOT NULL AND ${columns.last_event_time} BETWEEN ${from} AND ${to})`;
    }
  }
}

function compileCompare(filter: Extract<ActivityFilter, { kind: 'compare' }>, column: string, params: Params): string {
  if (filter.field === 'categories') {
    if (filter.op === '=') return categoryMember(column, filter.value, params);
    if (filter.op === '!=') return `(NOT ${categoryMember(column, filter.value, params)})`;
    throw new HeraldError('HERALD_ERR_INVALID_QUERY', {
      message: 'invalid query: LIKE does not apply to the array field categories',
      field: 'query',
    });
  }
  if (CASE_INSENSITIVE.has(filter.field) && (filter.op === '=' || filter.op === '!=')) {
    const folded = params.add(foldAscii(filter.value));
    return filter.op === '='
      ? `(${column} IS NOT NULL AND ${params.lower(column)} = ${folded})`
      : `(${column} IS NULL OR ${params.lower(column)} <> ${folded})`;
  }
  const value = params.add(filter.value);
  switch (filter.op) {
    case '=':
      return `(${column} IS NOT NULL AND ${column} = ${value})`;
    case '!=':
      return `(${column} IS NULL OR ${column} <> ${value})`;
    // SQLite's LIKE folds ASCII case and PostgreSQL's does not; folding both sides makes them
    // agree. ESCAPE is explicit because SQLite has no default escape and PostgreSQL's is `\`.
    case 'like':
      return `(${column} IS NOT NULL AND ${params.lower(column)} LIKE ${params.lower(value)} ESCAPE '\\')`;
    case 'not like':
      return `(${column} IS NULL OR ${params.lower(column)} NOT LIKE ${params.lower(value)} ESCAPE '\\')`;
  }
}

function compileIn(filter: Extract<ActivityFilter, { kind: 'in' }>, column: string, params: Params): string {
  if (filter.values.length === 0) return filter.negated ? '(1 = 1)' : '(1 = 0)';
  if (filter.field === 'categories') {
    const any = `(${filter.values.map((value) => categoryMember(column, value, params)).join(' OR ')})`;
    return filter.negated ? `(NOT ${any})` : any;
  }
  const folds = CASE_INSENSITIVE.has(filter.field);
  const list = filter.values.map((value) => params.add(folds ? foldAscii(value) : value)).join(', ');
  const subject = folds ? params.lower(column) : column;
  return filter.negated
    ? `(${column} IS NULL OR ${subject} NOT IN (${list}))`
    : `(${column} IS NOT NULL AND ${subject} IN (${list}))`;
}

/**
 * True when the JSON array text in `column` holds `value` as an element. It looks for the element's
 * JSON form, quotes included (`"a"`), so "promo" does not match "promotion"; JSON escapes every `"`
 * inside a string, so only an element that itself contains a quote could alias another.
 * `column <> REPLACE(column, needle, '')` is a substring test that SQLite and PostgreSQL both
 * evaluate case-sensitively, which LIKE is not (SQLite folds ASCII case), and it needs no escaping.
 */
function categoryMember(column: string, value: string, params: Params): string {
  return `(${column} IS NOT NULL AND ${column} <> REPLACE(${column}, ${params.add(JSON.stringify(value))}, ''))`;
}
