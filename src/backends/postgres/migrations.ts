/**
 * PostgreSQL schema migrations: numbered, only ever appended to. `migrate` applies the missing ones
 * in order, each in its own transaction, under an advisory lock so that any number of processes
 * starting together apply each migration exactly once. Times are epoch milliseconds (BIGINT), as in
 * the SQLite schema, so the code above the ports sees the same values from either backend.
 */
export const POSTGRES_MIGRATIONS: readonly { id: number; name: string; sql: string }[] = [
  {
    id: 1,
    name: 'accounts, keys, messages, queue, events, inbox, templates, suppressions, domains',
    sql: `
      CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        scopes TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX api_keys_account ON api_keys(account_id);
      CREATE TABLE batches (
        account_id TEXT NOT NULL,
        id TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, id)
      );
      CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        personalization_index INTEGER NOT NULL,
        recipient TEXT NOT NULL,
        recipient_kind TEXT NOT NULL,
        from_email TEXT NOT NULL,
        subject TEXT NOT NULL,
        categories TEXT NOT NULL,
        custom_args TEXT NOT NULL,
        api_key_id TEXT,
        template_id TEXT,
        status TEXT NOT NULL,
        last_event TEXT NOT NULL,
        last_event_time BIGINT NOT NULL,
        opens_count INTEGER NOT NULL DEFAULT 0,
        clicks_count INTEGER NOT NULL DEFAULT 0,
        ready_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX messages_account_time ON messages(account_id, last_event_time DESC);
      CREATE INDEX messages_account_recipient ON messages(account_id, recipient);
      -- A leased message's ready_at is its lease expiry, so one index finds all claimable work of
      -- a destination; claims take rows FOR UPDATE SKIP LOCKED, so concurrent claimers in any
      -- number of processes never block on or get the same message.
      CREATE TABLE queue (
        message_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        destination TEXT NOT NULL,
        ready_at BIGINT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        last_response TEXT,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX queue_destination_ready ON queue(destination, ready_at);
      CREATE INDEX queue_ready ON queue(ready_at);
      CREATE TABLE events (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        type TEXT NOT NULL,
        timestamp BIGINT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX events_message ON events(message_id, seq);
      CREATE TABLE inbox (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        envelope_from TEXT NOT NULL,
        envelope_to TEXT NOT NULL,
        subject TEXT NOT NULL,
        size INTEGER NOT NULL,
        received_at BIGINT NOT NULL,
        raw BYTEA NOT NULL
      );
      CREATE INDEX inbox_account ON inbox(account_id, received_at DESC);

      CREATE TABLE templates (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        generation TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX templates_account ON templates(account_id, created_at, id);
      CREATE TABLE template_versions (
        id TEXT PRIMARY KEY,
        template_id TEXT NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        active INTEGER NOT NULL,
        name TEXT NOT NULL,
        subject TEXT,
        html_content TEXT,
        plain_content TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX template_versions_template ON template_versions(template_id, created_at);
      CREATE INDEX template_versions_account ON template_versions(account_id);
      CREATE UNIQUE INDEX template_versions_one_active ON template_versions(template_id) WHERE active = 1;

      CREATE TABLE suppression_groups (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        is_default INTEGER NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        UNIQUE (account_id, name)
      );
      CREATE TABLE suppressions (
        account_id TEXT NOT NULL,
        email TEXT NOT NULL,
        list TEXT NOT NULL,
        group_id BIGINT NOT NULL DEFAULT 0,
        reason TEXT,
        status TEXT,
        ip TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, email, list, group_id)
      );
      CREATE INDEX suppressions_list ON suppressions(account_id, list, group_id, created_at);

      CREATE TABLE sending_domains (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        domain TEXT NOT NULL,
        selector TEXT NOT NULL,
        valid INTEGER NOT NULL DEFAULT 0,
        validated_at BIGINT,
        last_check TEXT,
        created_at BIGINT NOT NULL,
        UNIQUE (account_id, domain)
      );
      CREATE TABLE dkim_keys (
        domain_id BIGINT NOT NULL REFERENCES sending_domains(id) ON DELETE CASCADE,
        algorithm TEXT NOT NULL,
        selector TEXT NOT NULL,
        public_key TEXT NOT NULL,
        private_key TEXT NOT NULL,
        PRIMARY KEY (domain_id, algorithm)
      );
    `,
  },
  {
    id: 2,
    name: 'per-destination token buckets shared by every delivery process',
    sql: `
      CREATE TABLE destination_tokens (
        destination TEXT PRIMARY KEY,
        tokens DOUBLE PRECISION NOT NULL,
        refilled_at BIGINT NOT NULL,
        -- What the last take was given, for its RETURNING.
        granted DOUBLE PRECISION NOT NULL DEFAULT 0
      );
    `,
  },
  {
    id: 3,
    name: 'delivery processes heartbeat, to share connection limits',
    sql: `
      CREATE TABLE delivery_processes (
        id TEXT PRIMARY KEY,
        seen_at BIGINT NOT NULL
      );
    `,
  },
  {
    id: 4,
    name: 'messages keep their unsubscribe group',
    sql: `
      ALTER TABLE messages ADD COLUMN asm_group_id INTEGER;
    `,
  },
  {
    id: 5,
    name: 'secrets Herald makes for itself',
    sql: `
      CREATE TABLE instance_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
    `,
  },
  {
    id: 12,
    name: 'dashboard users and sessions; the queue by account',
    sql: `
      CREATE TABLE dashboard_users (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        email TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX dashboard_users_account ON dashboard_users(account_id);
      CREATE TABLE dashboard_sessions (
        id_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES dashboard_users(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions(expires_at);
      CREATE INDEX queue_account ON queue(account_id, created_at);
    `,
  },
];
