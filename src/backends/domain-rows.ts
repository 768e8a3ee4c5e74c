// Rows of the same tables read the same way in every backend.

export interface DomainRow {
  id: number;
  account_id: string;
  domain: string;
  selector: string;
  valid: number;
  validated_at: number | null;
  last_check: string | null;
  created_at: number;
}
