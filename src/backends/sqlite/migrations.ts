/**
 * SQLite schema migrations: numbered, only ever appended to. Each runs once, inside the same
 * immediate transaction that records it, so two processes starting together cannot both apply it.
 */
export const SQLITE_MIGRATIONS: readonly { id: number; name: string; sql: string }[] = [
  {
    id: 1,
    name: 'accounts, keys, messages, queue, events, inbox',
    sql: `
      CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        scopes TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX api_keys_account ON api_keys(account_id);
      CREATE TABLE batches (
        account_id TEXT NOT NULL,
        id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (account_id, id)
      );
      CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL
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
        last_event_time INTEGER NOT NULL,
        opens_count INTEGER NOT NULL DEFAULT 0,
        clicks_count INTEGER NOT NULL DEFAULT 0,
        ready_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX messages_account_time ON messages(account_id, last_event_time DESC);
      CREATE INDEX messages_account_recipient ON messages(account_id, recipient);
      -- A leased message's ready_at is its lease expiry, so one index finds all claimable work.
      CREATE TABLE queue (
        message_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        ready_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX queue_ready ON queue(ready_at);
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        type TEXT NOT NULL,
        timestamp INTEGER NOT NULL,
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
        received_at INTEGER NOT NULL,
        raw BLOB NOT NULL
      );
      CREATE INDEX inbox_account ON inbox(account_id, received_at DESC);
    `,
  },
  {
    id: 2,
    name: 'transactional templates and their versions',
    sql: `
      CREATE TABLE templates (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        generation TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
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
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX template_versions_template ON template_versions(template_id, created_at);
      CREATE INDEX template_versions_account ON template_versions(account_id);
      -- At most one active version per template, whatever the code above it does.
      CREATE UNIQUE INDEX template_versions_one_active ON template_versions(template_id) WHERE active = 1;
    `,
  },
  {
    id: 3,
    name: 'suppression lists and unsubscribe groups',
    sql: `
      CREATE TABLE suppression_groups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        is_default INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        UNIQUE (account_id, name)
      );
      -- One row per address per list; group unsubscribes are list 'group' with their group_id,
      -- every other list has group_id 0. The key leads with (account_id, email) so the check
      -- before each delivery is one index range.
      CREATE TABLE suppressions (
        account_id TEXT NOT NULL,
        email TEXT NOT NULL,
        list TEXT NOT NULL,
        group_id INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        status TEXT,
        ip TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (account_id, email, list, group_id)
      ) WITHOUT ROWID;
      CREATE INDEX suppressions_list ON suppressions(account_id, list, group_id, created_at);
    `,
  },
  {
    id: 4,
    name: 'sending domains and their DKIM keys',
    sql: `
      CREATE TABLE sending_domains (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        domain TEXT NOT NULL,
        selector TEXT NOT NULL,
        valid INTEGER NOT NULL DEFAULT 0,
        validated_at INTEGER,
        -- JSON: the last check's outcome per record, {"dkim1": {"valid": true, "reason": null}, ...}.
        last_check TEXT,
        created_at INTEGER NOT NULL,
        UNIQUE (account_id, domain)
      );
      -- private_key is PKCS#8 PEM, or sealed (AES-256-GCM) when dkimKeyEncryptionKey is set.
      CREATE TABLE dkim_keys (
        domain_id INTEGER NOT NULL REFERENCES sending_domains(id) ON DELETE CASCADE,
        algorithm TEXT NOT NULL,
        selector TEXT NOT NULL,
        public_key TEXT NOT NULL,
        private_key TEXT NOT NULL,
        PRIMARY KEY (domain_id, algorithm)
      );
    `,
  },
  {
    id: 5,
    name: 'queue scheduled per destination',
    sql: `
      -- The destination (recipient domain) a message is scheduled and shaped under, and the last
      -- deferral's response for operators. Existing rows take their recipient's domain; the code
      -- also turns international names into punycode, which a migration written in SQL cannot.
      ALTER TABLE queue ADD COLUMN destination TEXT NOT NULL DEFAULT '';
      ALTER TABLE queue ADD COLUMN last_response TEXT;
      UPDATE queue SET destination = (
        SELECT lower(rtrim(substr(m.recipient, instr(m.recipient, '@') + 1), '.')) FROM messages m WHERE m.id = queue.message_id
      );
      CREATE INDEX queue_destination_ready ON queue(destination, ready_at);
    `,
  },
  {
    id: 6,
    name: 'queue without rowid and without queue_ready',
    sql: `
      -- Every claim goes per destination through queue_destination_ready, so queue_ready only
      -- cost an index write at each enqueue, lease and removal. Keyed by message_id without a
      -- rowid, the table is one b-tree instead of a table plus its primary-key index.
      CREATE TABLE queue_v6 (
        message_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        ready_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        created_at INTEGER NOT NULL,
        destination TEXT NOT NULL DEFAULT '',
        last_response TEXT
      ) WITHOUT ROWID;
      INSERT INTO queue_v6 (message_id, account_id, ready_at, attempts, lease_owner, created_at, destination, last_response)
        SELECT message_id, account_id, ready_at, attempts, lease_owner, created_at, destination, last_response FROM queue;
      DROP TABLE queue;
      ALTER TABLE queue_v6 RENAME TO queue;
      CREATE INDEX queue_destination_ready ON queue(destination, ready_at);
    `,
  },
  {
    id: 7,
    name: 'messages keep their unsubscribe group',
    sql: `
      -- For the activity API's asm_group_id, webhooks and unsubscribe links, without reading the request payload.
      ALTER TABLE messages ADD COLUMN asm_group_id INTEGER;
    `,
  },
  {
    id: 8,
    name: 'secrets Herald makes for itself',
    sql: `
      CREATE TABLE instance_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    id: 9,
    name: 'event webhooks: endpoints, outboxes, cursor, deliveries log',
    sql: `
      -- One row per endpoint; it also carries the dispatch state of its head of line: the lease of
      -- the process sending its batch, when it may be tried again, and how many attempts failed.
      CREATE TABLE webhook_endpoints (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        url TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        -- JSON array of SendGrid's event switch names.
        event_types TEXT NOT NULL,
        friendly_name TEXT,
        -- Base64 DER SPKI and the sealed PKCS#8 PEM of the signing key; null when unsigned.
        public_key TEXT,
        private_key TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        lease_owner TEXT,
        lease_until INTEGER NOT NULL DEFAULT 0,
        retry_at INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX webhook_endpoints_account ON webhook_endpoints(account_id, created_at);
      -- Events waiting for an endpoint, in event-log order (seq).
      CREATE TABLE webhook_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        event_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        enqueued_at INTEGER NOT NULL
      );
      CREATE INDEX webhook_outbox_endpoint ON webhook_outbox(endpoint_id, seq);
      -- How far fan-out has read the event log.
      CREATE TABLE webhook_cursor (
        name TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
      );
      -- From the end of the log: events from before webhooks existed went to no endpoint.
      INSERT INTO webhook_cursor (name, seq) SELECT 'events', COALESCE(MAX(seq), 0) FROM events;
      CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        attempted_at INTEGER NOT NULL,
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
    id: 10,
    name: 'stats counters kept from the event log; case-insensitive recipient search',
    sql: `
      -- One row per (account, dimension, name, UTC day, metric): dimension is global (name ''),
      -- category or mailbox_provider. Keyed for the reads: one account's names over a day range.
      CREATE TABLE stats_counters (
        account_id TEXT NOT NULL,
        dimension TEXT NOT NULL,
        name TEXT NOT NULL,
        day INTEGER NOT NULL,
        metric TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (account_id, dimension, name, day, metric)
      ) WITHOUT ROWID;
      -- Messages that have had their first open or click counted (unique_opens, unique_clicks).
      CREATE TABLE stats_uniques (
        message_id TEXT NOT NULL,
        metric TEXT NOT NULL,
        PRIMARY KEY (message_id, metric)
      ) WITHOUT ROWID;
      -- The seq of the last event counted; moved in the same transaction as the counters.
      CREATE TABLE stats_position (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL
      );
      INSERT INTO stats_position (id, seq) VALUES (1, 0);
      -- Email Activity matches to_email without regard to ASCII case (activity-query-sql.ts folds
      -- with LOWER()); nothing else looked recipients up by the exact-case index.
      DROP INDEX messages_account_recipient;
      CREATE INDEX messages_account_recipient_ci ON messages(account_id, lower(recipient));
      -- The planner's idea of the messages indexes. Herald never runs ANALYZE, and without
      -- statistics SQLite takes account_id = ? to pick out about ten rows: it then looks up
      -- message ids and recipients by scanning the whole account through an index that merely
      -- starts with account_id (measured: 270 ms per lookup at 60,000 messages). These figures
      -- say what holds in any real store: an account has many messages, an (account, recipient)
      -- pair a few, an id one (https://sqlite.org/fileformat2.html#stat1tab; an ANALYZE later
      -- replaces them with measured ones).
      ANALYZE sqlite_schema;
      DELETE FROM sqlite_stat1 WHERE tbl = 'messages';
      INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
        ('messages', 'sqlite_autoindex_messages_1', '1000000 1'),
        ('messages', 'messages_account_time', '1000000 100000 2'),
        ('messages', 'messages_account_recipient_ci', '1000000 100000 5');
      -- Loads the rows just written (it analyzes only sqlite_schema itself, which has no index).
      ANALYZE sqlite_schema;
    `,
  },
  {
    id: 11,
    name: 'tracking settings per account',
    sql: `
      -- SendGrid's /v3/tracking_settings/{open,click,subscription}: one row per value an account
      -- changed (JSON), so a PATCH of one value never overwrites another changed at the same time.
      CREATE TABLE tracking_settings (
        account_id TEXT NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (account_id, name)
      ) WITHOUT ROWID;
    `,
  },
  {
    id: 12,
    name: 'SLO counts per minute and firing SLO alerts',
    sql: `
      -- Good and total events per SLO and minute (bucket: epoch ms of its start). Every write adds
      -- to the counts; old buckets are pruned past the longest SLO window.
      CREATE TABLE slo_buckets (
        slo TEXT NOT NULL,
        bucket INTEGER NOT NULL,
        good INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (slo, bucket)
      ) WITHOUT ROWID;
      CREATE INDEX slo_buckets_bucket ON slo_buckets(bucket);
      CREATE TABLE slo_alerts (
        slo TEXT NOT NULL,
        severity TEXT NOT NULL,
        since INTEGER NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (slo, severity)
      );
    `,
  },
  {
    id: 13,
    name: 'per-account limits and daily message counts',
    sql: `
      -- An account's own limits (NULL follows the settings, 0 is unlimited).
      CREATE TABLE account_limits (
        account_id TEXT PRIMARY KEY,
        requests_per_minute INTEGER,
        messages_per_day INTEGER,
        updated_at INTEGER NOT NULL
      );
      -- Messages accepted per account and UTC day (YYYY-MM-DD), counted before they are written.
      CREATE TABLE account_daily_usage (
        account_id TEXT NOT NULL,
        day TEXT NOT NULL,
        messages INTEGER NOT NULL,
        PRIMARY KEY (account_id, day)
      ) WITHOUT ROWID;
    `,
  },
  {
    id: 15,
    name: 'dashboard users and sessions; the queue by account',
    sql: `
      -- Email is unique across the installation: signing in names no account.
      CREATE TABLE dashboard_users (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        email TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX dashboard_users_account ON dashboard_users(account_id);
      -- Keyed by the SHA-256 of the cookie's id: a copy of the table opens no browser session.
      CREATE TABLE dashboard_sessions (
        id_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES dashboard_users(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions(expires_at);
      -- An account's queue depth (GET /v1/queue/stats) without scanning every account's messages.
      CREATE INDEX queue_account ON queue(account_id, created_at);
    `,
  },
  {
    id: 16,
    name: 'activity index ordered as Email Activity lists',
    sql: `
      -- Email Activity lists newest first with the id as tie-break (ORDER BY last_event_time DESC,
      -- id). With the id in the index a query walks it in that order and stops after its LIMIT
      -- rows, instead of sorting every message of the time range it filters.
      DROP INDEX messages_account_time;
      CREATE INDEX messages_account_time ON messages(account_id, last_event_time DESC, id);
      DELETE FROM sqlite_stat1 WHERE tbl = 'messages' AND idx = 'messages_account_time';
      INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('messages', 'messages_account_time', '1000000 100000 2 1');
      ANALYZE sqlite_schema;
    `,
  },
  {
    id: 17,
    name: 'activity index by status',
    sql: `
      -- status = ... AND last_event_time BETWEEN ...: Email Activity's most common filter. By time
      -- alone a rare status means walking a whole day of messages to find a page of them.
      CREATE INDEX messages_account_status_time ON messages(account_id, status, last_event_time DESC, id);
      INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('messages', 'messages_account_status_time', '1000000 100000 30000 2 1');
      ANALYZE sqlite_schema;
    `,
  },
];
