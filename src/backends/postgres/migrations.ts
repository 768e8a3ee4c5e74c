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
    id: 6,
    name: 'event webhooks: endpoints, outboxes, cursor, deliveries log',
    sql: `
      -- As SQLite's migration 9: an endpoint row carries its head of line's lease and retry state.
      CREATE TABLE webhook_endpoints (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        url TEXT NOT NULL,
        enabled BOOLEAN NOT NULL,
        event_types TEXT NOT NULL,
        friendly_name TEXT,
        public_key TEXT,
        private_key TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        lease_owner TEXT,
        lease_until BIGINT NOT NULL DEFAULT 0,
        retry_at BIGINT NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX webhook_endpoints_account ON webhook_endpoints(account_id, created_at);
      CREATE TABLE webhook_outbox (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        event_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        enqueued_at BIGINT NOT NULL
      );
      CREATE INDEX webhook_outbox_endpoint ON webhook_outbox(endpoint_id, seq);
      CREATE TABLE webhook_cursor (
        name TEXT PRIMARY KEY,
        seq BIGINT NOT NULL
      );
      -- From the end of the log: events from before webhooks existed went to no endpoint.
      INSERT INTO webhook_cursor (name, seq) SELECT 'events', COALESCE(MAX(seq), 0) FROM events;
      CREATE TABLE webhook_deliveries (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        attempted_at BIGINT NOT NULL,
        outcome TEXT NOT NULL,
        events INTEGER NOT NULL,
        status INTEGER,
        error TEXT,
        duration_ms INTEGER NOT NULL
      );
      CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);
    `,
  },
  {
    id: 7,
    name: 'stats counters kept from the event log; case-insensitive recipient search',
    sql: `
      CREATE TABLE stats_counters (
        account_id TEXT NOT NULL,
        dimension TEXT NOT NULL,
        name TEXT NOT NULL,
        day INTEGER NOT NULL,
        metric TEXT NOT NULL,
        count BIGINT NOT NULL,
        PRIMARY KEY (account_id, dimension, name, day, metric)
      );
      CREATE TABLE stats_uniques (
        message_id TEXT NOT NULL,
        metric TEXT NOT NULL,
        PRIMARY KEY (message_id, metric)
      );
      CREATE TABLE stats_position (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq BIGINT NOT NULL
      );
      INSERT INTO stats_position (id, seq) VALUES (1, 0);
      -- The same ASCII-only fold activity-query-sql.ts writes, so the planner matches the index.
      DROP INDEX messages_account_recipient;
      CREATE INDEX messages_account_recipient_ci ON messages(account_id, translate(recipient, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'));
    `,
  },
  {
    id: 8,
    name: 'tracking settings per account',
    sql: `
      CREATE TABLE tracking_settings (
        account_id TEXT NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, name)
      );
    `,
  },
  {
    id: 9,
    name: 'SLO counts per minute and firing SLO alerts',
    sql: `
      -- Good and total events per SLO and minute (bucket: epoch ms of its start). Every process
      -- adds to the same rows (INSERT ... ON CONFLICT DO UPDATE); old buckets are pruned past the
      -- longest SLO window.
      CREATE TABLE slo_buckets (
        slo TEXT NOT NULL,
        bucket BIGINT NOT NULL,
        good BIGINT NOT NULL DEFAULT 0,
        total BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (slo, bucket)
      );
      CREATE INDEX slo_buckets_bucket ON slo_buckets(bucket);
      CREATE TABLE slo_alerts (
        slo TEXT NOT NULL,
        severity TEXT NOT NULL,
        since BIGINT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (slo, severity)
      );
    `,
  },
  {
    id: 10,
    name: 'per-account limits, request windows and daily message counts',
    sql: `
      CREATE TABLE account_limits (
        account_id TEXT PRIMARY KEY,
        requests_per_minute INTEGER,
        messages_per_day INTEGER,
        updated_at BIGINT NOT NULL
      );
      -- The current one-minute window of each account's API requests, shared by every process.
      CREATE TABLE account_request_windows (
        account_id TEXT PRIMARY KEY,
        window_start BIGINT NOT NULL,
        requests INTEGER NOT NULL
      );
      CREATE TABLE account_daily_usage (
        account_id TEXT NOT NULL,
        day TEXT NOT NULL,
        messages INTEGER NOT NULL,
        PRIMARY KEY (account_id, day)
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
  {
    id: 13,
    name: 'activity index ordered as Email Activity lists',
    sql: `
      -- As SQLite's migration 16: the index in the order of ORDER BY last_event_time DESC, id
      -- COLLATE "C", so a listing stops after its LIMIT rows instead of sorting its time range.
      DROP INDEX messages_account_time;
      CREATE INDEX messages_account_time ON messages(account_id, last_event_time DESC, id COLLATE "C");
    `,
  },
  {
    id: 14,
    name: 'activity index by status',
    sql: `
      CREATE INDEX messages_account_status_time ON messages(account_id, status, last_event_time DESC, id COLLATE "C");
    `,
  },
];
