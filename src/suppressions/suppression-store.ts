/**
 * SendGrid's suppression lists, per account. `unsubscribes` is the global unsubscribe list
 * (`/v3/asm/suppressions/global`); group unsubscribes live under their group.
 */
export const SUPPRESSION_LISTS = ['bounces', 'blocks', 'spam_reports', 'invalid_emails', 'unsubscribes'] as const;
export type SuppressionList = (typeof SUPPRESSION_LISTS)[number];

/** One address on one list. Addresses are stored lower-cased: matching ignores case. */
export interface Suppression {
  email: string;
  list: SuppressionList;
  /** Why the address is listed: the remote reply of a bounce or block, null when added by hand. */
  reason: string | null;
  /** Enhanced status code (RFC 3463) of a bounce or block. */
  status: string | null;
  /** The IP a spam report came from. */
  ip: string | null;
  /** Epoch ms. */
  createdAt: number;
}

export interface NewSuppression {
  email: string;
  reason?: string | null;
  status?: string | null;
  ip?: string | null;
}

/** What keeps a message from an address: a list, or an unsubscribe group of the account. */
export type SuppressionMatch = { list: Exclude<SuppressionList, 'blocks'>; groupId: null } | { list: 'group'; groupId: number };

/** Which match `find` reports when an address is on several lists: the first of these. */
const MATCH_ORDER: readonly SuppressionMatch['list'][] = ['bounces', 'spam_reports', 'invalid_emails', 'unsubscribes', 'group'];

/**
 * `findMany`'s answer from the rows that suppress the addresses (any order, several per address):
 * each address's first match in `find`'s order, keyed by the address as stored (lower case).
 */
export function firstMatches(rows: readonly { email: string; list: SuppressionMatch['list']; group_id: number }[]): Map<string, SuppressionMatch> {
  const out = new Map<string, SuppressionMatch>();
  for (const row of rows) {
    const known = out.get(row.email);
    if (known !== undefined && MATCH_ORDER.indexOf(known.list) <= MATCH_ORDER.indexOf(row.list)) continue;
    out.set(row.email, row.list === 'group' ? { list: 'group', groupId: row.group_id } : { list: row.list, groupId: null });
  }
  return out;
}

/** An unsubscribe group (SendGrid ASM). Ids are whole numbers, unique across accounts. */
export interface SuppressionGroup {
  id: number;
  name: string;
  description: string;
  isDefault: boolean;
  /** How many addresses are unsubscribed from it. */
  unsubscribes: number;
}

export interface GroupInput {
  name: string;
  description: string;
  isDefault: boolean;
}

export interface ListOptions {
  limit: number;
  offset: number;
  /** Exact address, compared without case. */
  email?: string;
  /** Epoch ms, inclusive. */
  startTime?: number;
  /** Epoch ms, inclusive. */
  endTime?: number;
}

/** The suppressions port. Every verb is scoped to an account: another's lists and groups are absent. */
export interface SuppressionStore {
  /** Adds addresses to a list; an address already listed keeps its place and takes the new reason. */
  add(accountId: string, list: SuppressionList, entries: NewSuppression[]): Promise<void>;
  /** Removes addresses from a list (every address with 'all'); returns how many were removed. */
  remove(accountId: string, list: SuppressionList, emails: string[] | 'all'): Promise<number>;
  /** Newest first. */
  list(accountId: string, list: SuppressionList, options: ListOptions): Promise<Suppression[]>;
  /**
   * What suppresses mail to `email`: bounces, spam reports, invalid emails and global unsubscribes
   * always; the unsubscribes of `groupId` when the mail names that group. Blocks never suppress
   * (SendGrid's Blocks API: "will not suppress future messages to blocked addresses").
   */
  find(accountId: string, email: string, groupId: number | null): Promise<SuppressionMatch | null>;
  /**
   * `find` for many addresses of one account and group in one lookup (the messages a delivery
   * worker claims together): the match of each address that has one, keyed by the address in
   * lower case; an address without a match is absent.
   */
  findMany(accountId: string, emails: readonly string[], groupId: number | null): Promise<Map<string, SuppressionMatch>>;

  /** 'limit' when the account already holds `maxGroups`; 'duplicate' when the name is taken. */
  createGroup(accountId: string, input: GroupInput, maxGroups: number): Promise<SuppressionGroup | 'limit' | 'duplicate'>;
  getGroup(accountId: string, groupId: number): Promise<SuppressionGroup | null>;
  /** Oldest first; only `ids` when given. */
  listGroups(accountId: string, ids?: number[]): Promise<SuppressionGroup[]>;
  updateGroup(accountId: string, groupId: number, changes: Partial<GroupInput>): Promise<SuppressionGroup | null | 'duplicate'>;
  /** Deletes the group and its unsubscribes. */
  deleteGroup(accountId: string, groupId: number): Promise<boolean>;
  /** false when the group is not the account's. */
  addToGroup(accountId: string, groupId: number, emails: string[]): Promise<boolean>;
  removeFromGroup(accountId: string, groupId: number, email: string): Promise<'removed' | 'not_listed' | 'no_group'>;
  /** The group's unsubscribed addresses, oldest first; null when the group is not the account's. */
  groupMembers(accountId: string, groupId: number): Promise<string[] | null>;
}
