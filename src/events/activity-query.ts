import { HeraldError } from '../errors.js';

/**
 * Parser for SendGrid's Email Activity Feed query language: the `query` parameter of
 * `GET /v3/messages` (SendGrid docs, "Getting Started with the Email Activity Feed API" and its
 * query reference). Examples it accepts:
 *
 *   to_email="a@example.com" AND status='delivered'
 *   msg_id LIKE 'abc%' OR Contains(categories,"welcome")
 *   last_event_time BETWEEN TIMESTAMP "2017-11-07T23:13:58Z" AND TIMESTAMP "2017-11-08T23:13:58Z"
 *
 * Keywords are case-insensitive; field names are lower-case and case-sensitive, as SendGrid's are.
 * Every failure is a `HERALD_ERR_INVALID_QUERY` whose message names the problem and its 0-based
 * character offset in the query.
 */

export type ActivityField =
  | 'to_email'
  | 'from_email'
  | 'subject'
  | 'status'
  | 'msg_id'
  | 'categories'
  | 'template_id'
  | 'api_key_id'
  | 'last_event_time'
  | 'unique_args';

export type ActivityFilter =
  | { kind: 'and' | 'or'; left: ActivityFilter; right: ActivityFilter }
  | { kind: 'not'; inner: ActivityFilter }
  | { kind: 'compare'; field: ActivityField; op: '=' | '!=' | 'like' | 'not like'; value: string }
  | { kind: 'in'; field: ActivityField; negated: boolean; values: string[] }
  | { kind: 'contains'; field: ActivityField; value: string }
  /** `at` is epoch milliseconds. */
  | { kind: 'time'; field: 'last_event_time'; op: '>' | '<' | '>=' | '<=' | '='; at: number }
  /** `from` and `to` are epoch milliseconds, both inclusive. */
  | { kind: 'between'; field: 'last_event_time'; from: number; to: number };

/** Every field name the language knows, in the order SendGrid's reference lists them. */
export const ACTIVITY_FIELDS: readonly ActivityField[] = [
  'msg_id',
  'from_email',
  'subject',
  'to_email',
  'status',
  'template_id',
  'api_key_id',
  'categories',
  'unique_args',
  'last_event_time',
];

/** Longest query accepted, in UTF-16 code units: bounds parse time and the SQL it compiles to. */
export const ACTIVITY_QUERY_MAX_LENGTH = 2000;

/** Deepest nesting of parentheses and NOTs accepted: bounds recursion here and in the SQL. */
export const ACTIVITY_QUERY_MAX_DEPTH = 20;

type Token =
  | { type: 'word'; text: string; at: number }
  | { type: 'string'; value: string; at: number }
  | { type: 'op'; text: '=' | '!=' | '<>' | '<' | '>' | '<=' | '>='; at: number }
  | { type: 'punct'; text: '(' | ')' | ','; at: number }
  | { type: 'eof'; at: number };

/** Parses one Email Activity query into a filter tree; throws `HERALD_ERR_INVALID_QUERY`. */
export function parseActivityQuery(query: string): ActivityFilter {
  if (query.length > ACTIVITY_QUERY_MAX_LENGTH) {
    fail(`query is ${query.length} characters long; the limit is ${ACTIVITY_QUERY_MAX_LENGTH}`, ACTIVITY_QUERY_MAX_LENGTH);
  }
  const tokens = tokenize(query);
  if (tokens[0]?.type === 'eof') fail('query is empty', 0);
  return new Parser(tokens).parseQuery();
}

function fail(reason: string, offset: number): never {
  throw new HeraldError('HERALD_ERR_INVALID_QUERY', { message: `invalid query: ${reason} at offset ${offset}`, field: 'query' });
}

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < query.length && /[A-Za-z0-9_]/.test(query[i]!)) i++;
      tokens.push({ type: 'word', text: query.slice(start, i), at: start });
    } else if (c === '"' || c === "'") {
      const start = i;
      const [value, next] = readString(query, i);
      tokens.push({ type: 'string', value, at: start });
      i = next;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ type: 'punct', text: c, at: i });
      i++;
    } else if (c === '=') {
      tokens.push({ type: 'op', text: '=', at: i });
      i++;
    } else if (c === '!' && query[i + 1] === '=') {
      tokens.push({ type: 'op', text: '!=', at: i });
      i += 2;
    } else if (c === '<' || c === '>') {
      const two = query.slice(i, i + 2);
      if (two === '<=' || two === '>=' || two === '<>') {
        tokens.push({ type: 'op', text: two, at: i });
        i += 2;
      } else {
        tokens.push({ type: 'op', text: c, at: i });
        i++;
      }
    } else {
      fail(`unexpected character ${JSON.stringify(c)}`, i);
    }
  }
  tokens.push({ type: 'eof', at: query.length });
  return tokens;
}

/**
 * Reads a quoted string starting at `open`. `\\`, `\"` and `\'` stand for the character after the
 * backslash; any other backslash is kept as written, so that a LIKE pattern's `\%` and `\_` reach
 * SQL as escapes of the wildcard.
 */
function readString(query: string, open: number): [string, number] {
  const quote = query[open];
  let value = '';
  let i = open + 1;
  while (i < query.length) {
    const c = query[i]!;
    if (c === quote) return [value, i + 1];
    if (c === '\\' && i + 1 < query.length) {
      const next = query[i + 1]!;
      value += next === '\\' || next === '"' || next === "'" ? next : c + next;
      i += 2;
    } else {
      value += c;
      i++;
    }
  }
  return fail(`unterminated string (opened with ${quote})`, open);
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parseQuery(): ActivityFilter {
    const filter = this.parseOr();
    const token = this.peek();
    if (token.type === 'punct' && token.text === ')') fail("unmatched ')'", token.at);
    if (token.type !== 'eof') fail(`unexpected ${describe(token)} where AND, OR or the end of the query was expected`, token.at);
    return filter;
  }

  // AND binds tighter than OR, as in SQL; both associate to the left.
  private parseOr(): ActivityFilter {
    let left = this.parseAnd();
    while (this.acceptKeyword('or')) left = { kind: 'or', left, right: this.parseAnd() };
    return left;
  }

  private parseAnd(): ActivityFilter {
    let left = this.parseUnary();
    while (this.acceptKeyword('and')) left = { kind: 'and', left, right: this.parseUnary() };
    return left;
  }

  private parseUnary(): ActivityFilter {
    const token = this.peek();
    if (isKeyword(token, 'not')) {
      this.index++;
      this.enter(token.at);
      const inner = this.parseUnary();
      this.depth--;
      return { kind: 'not', inner };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): ActivityFilter {
    const token = this.next();
    if (token.type === 'punct' && token.text === '(') {
      this.enter(token.at);
      const inner = this.parseOr();
      const close = this.next();
      if (close.type !== 'punct' || close.text !== ')') {
        fail(`expected ')' to close the '(' at offset ${token.at}, found ${describe(close)}`, close.at);
      }
      this.depth--;
      return inner;
    }
    if (isKeyword(token, 'contains')) return this.parseContains(token.at);
    if (token.type === 'word') return this.parsePredicate(this.field(token), token.at);
    return fail(`expected a field name, NOT, Contains( or '(' but found ${describe(token)}`, token.at);
  }

  // SendGrid's array membership form: Contains(categories,"value").
  private parseContains(at: number): ActivityFilter {
    this.expectPunct('(', 'after Contains');
    const fieldToken = this.next();
    if (fieldToken.type !== 'word') fail(`expected a field name inside Contains( but found ${describe(fieldToken)}`, fieldToken.at);
    const field = this.field(fieldToken);
    if (field !== 'categories') fail(`Contains() applies to the array field categories, not ${field}`, fieldToken.at);
    this.expectPunct(',', `after ${field} in Contains(`);
    const value = this.expectString(`as the value of the Contains( at offset ${at}`);
    this.expectPunct(')', `to close the Contains( at offset ${at}`);
    return { kind: 'contains', field, value };
  }

  private parsePredicate(field: ActivityField, fieldAt: number): ActivityFilter {
    if (field === 'unique_args') fail('the unique_args field is not supported', fieldAt);
    const token = this.next();
    if (field === 'last_event_time') return this.parseTimePredicate(token);
    if (token.type === 'op') {
      if (token.text === '=' || token.text === '!=' || token.text === '<>') {
        const value = this.expectString(`after ${token.text}`);
        return { kind: 'compare', field, op: token.text === '=' ? '=' : '!=', value };
      }
      fail(`operator ${token.text} applies only to last_event_time, not ${field}`, token.at);
    }
    const negated = isKeyword(token, 'not');
    const operator = negated ? this.next() : token;
    if (isKeyword(operator, 'like')) {
      if (field === 'categories') fail('LIKE does not apply to the array field categories; use Contains(categories, "...")', operator.at);
      const pattern = this.peek();
      const value = this.expectString('after LIKE');
      checkLikePattern(value, pattern.at);
      return { kind: 'compare', field, op: negated ? 'not like' : 'like', value };
    }
    if (isKeyword(operator, 'in')) return { kind: 'in', field, negated, values: this.parseList() };
    if (isKeyword(operator, 'between')) fail(`BETWEEN applies only to last_event_time, not ${field}`, operator.at);
    const expected = negated ? 'LIKE or IN after NOT' : 'an operator (=, !=, LIKE, NOT LIKE, IN, NOT IN)';
    return fail(`expected ${expected} after field ${field} but found ${describe(operator)}`, operator.at);
  }

  private parseTimePredicate(token: Token): ActivityFilter {
    const field = 'last_event_time';
    if (token.type === 'op') {
      const at = this.parseTimestamp(`after ${token.text}`);
      if (token.text === '!=' || token.text === '<>') return { kind: 'not', inner: { kind: 'time', field, op: '=', at } };
      return { kind: 'time', field, op: token.text, at };
    }
    const negated = isKeyword(token, 'not');
    const operator = negated ? this.next() : token;
    if (isKeyword(operator, 'between')) {
      const from = this.parseTimestamp('after BETWEEN');
      const and = this.next();
      if (!isKeyword(and, 'and')) fail(`expected AND between the two TIMESTAMPs of BETWEEN but found ${describe(and)}`, and.at);
      const toAt = this.peek().at;
      const to = this.parseTimestamp('after BETWEEN ... AND');
      if (from > to) fail('BETWEEN range ends before it starts', toAt);
      const between: ActivityFilter = { kind: 'between', field, from, to };
      return negated ? { kind: 'not', inner: between } : between;
    }
    return fail(
      `expected a comparison (=, !=, <, >, <=, >=) or BETWEEN after last_event_time but found ${describe(operator)}`,
      operator.at,
    );
  }

  // SendGrid writes times as TIMESTAMP "2017-11-07T23:13:58Z".
  private parseTimestamp(where: string): number {
    const keyword = this.next();
    if (!isKeyword(keyword, 'timestamp')) fail(`expected TIMESTAMP "..." ${where} but found ${describe(keyword)}`, keyword.at);
    const token = this.next();
    if (token.type !== 'string') fail(`expected a quoted date-time after TIMESTAMP but found ${describe(token)}`, token.at);
    return parseTimestampText(token.value, token.at);
  }

  private parseList(): string[] {
    this.expectPunct('(', 'after IN');
    const values = [this.expectString('in the IN list')];
    for (;;) {
      const token = this.next();
      if (token.type === 'punct' && token.text === ')') return values;
      if (token.type !== 'punct' || token.text !== ',') fail(`expected ',' or ')' in the IN list but found ${describe(token)}`, token.at);
      values.push(this.expectString('after , in the IN list'));
    }
  }

  private field(token: Extract<Token, { type: 'word' }>): ActivityField {
    const known = ACTIVITY_FIELDS.find((field) => field === token.text);
    if (known) return known;
    const lower = token.text.toLowerCase();
    if (KEYWORDS.has(lower)) fail(`expected a field name but found keyword ${token.text.toUpperCase()}`, token.at);
    const hint = ACTIVITY_FIELDS.includes(lower as ActivityField)
      ? ` (field names are case-sensitive: did you mean ${lower}?)`
      : ` (known fields: ${ACTIVITY_FIELDS.join(', ')})`;
    return fail(`unknown field '${token.text}'${hint}`, token.at);
  }

  private enter(at: number): void {
    this.depth++;
    if (this.depth > ACTIVITY_QUERY_MAX_DEPTH) fail(`nesting is deeper than ${ACTIVITY_QUERY_MAX_DEPTH} levels`, at);
  }

  private expectPunct(text: '(' | ')' | ',', where: string): void {
    const token = this.next();
    if (token.type !== 'punct' || token.text !== text) fail(`expected '${text}' ${where} but found ${describe(token)}`, token.at);
  }

  private expectString(where: string): string {
    const token = this.next();
    if (token.type !== 'string') fail(`expected a quoted string ${where} but found ${describe(token)}`, token.at);
    return token.value;
  }

  private acceptKeyword(keyword: string): boolean {
    if (!isKeyword(this.peek(), keyword)) return false;
    this.index++;
    return true;
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  // The eof token is never consumed, so every call past the end keeps seeing it.
  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.type !== 'eof') this.index++;
    return token;
  }
}

const KEYWORDS = new Set(['and', 'or', 'not', 'like', 'in', 'between', 'timestamp', 'contains']);

function isKeyword(token: Token, keyword: string): boolean {
  return token.type === 'word' && token.text.toLowerCase() === keyword;
}

function describe(token: Token): string {
  switch (token.type) {
    case 'eof':
      return 'the end of the query';
    case 'string':
      return `the string ${JSON.stringify(token.value)}`;
    default:
      return `'${token.text}'`;
  }
}

/**
 * A backslash in a LIKE pattern must escape `%`, `_` or itself: PostgreSQL rejects a pattern that
 * ends in the escape character, so refusing it here keeps SQLite and PostgreSQL in agreement.
 */
function checkLikePattern(pattern: string, at: number): void {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '\\') continue;
    const next = pattern[i + 1];
    if (next !== '%' && next !== '_' && next !== '\\') {
      fail(`LIKE pattern ${JSON.stringify(pattern)} has a backslash that does not escape %, _ or \\`, at);
    }
    i++;
  }
}

// RFC 3339 §5.6 date-time; a zone is required so that no time depends on the server's zone.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Epoch milliseconds of an RFC 3339 date-time; fractions below a millisecond are dropped. */
function parseTimestampText(text: string, at: number): number {
  const m = DATE_TIME.exec(text);
  if (!m) fail(`bad TIMESTAMP ${JSON.stringify(text)}: expected an RFC 3339 date-time such as "2017-11-07T23:13:58Z"`, at);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);
  const problem =
    month < 1 || month > 12
      ? `month ${month} is out of range`
      : day < 1 || day > daysInMonth(year, month)
        ? `day ${day} does not exist in ${year}-${String(month).padStart(2, '0')}`
        : hour > 23 || minute > 59 || second > 59
          ? 'time of day is out of range'
          : offsetHours > 23 || offsetMinutes > 59
            ? 'zone offset is out of range'
            : null;
  if (problem) fail(`bad TIMESTAMP ${JSON.stringify(text)}: ${problem}`, at);
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC: it maps years 0-99 to 1900-1999
  date.setUTCHours(hour, minute, second, millis);
  const sign = m[9] === '-' ? -1 : 1;
  return date.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
}

function daysInMonth(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  return date.getUTCDate();
}
