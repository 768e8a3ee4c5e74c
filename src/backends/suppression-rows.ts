import type { SuppressionGroup, SuppressionList } from '../suppressions/suppression-store.js';

// Rows of the same tables read the same way in every backend.

export interface SuppressionRow {
  email: string;
  list: SuppressionList;
  reason: string | null;
  status: string | null;
  ip: string | null;
  created_at: number;
}

export interface GroupRow {
  id: number;
  name: string;
  description: string;
  is_default: number;
  unsubscribes: number;
}

export function toGroup(row: GroupRow): SuppressionGroup {
  return { id: row.id, name: row.name, description: row.description, isDefault: row.is_default === 1, unsubscribes: row.unsubscribes };
}
