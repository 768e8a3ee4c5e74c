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
];
