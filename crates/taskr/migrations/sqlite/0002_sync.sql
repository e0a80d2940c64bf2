-- Real-time sync: each workspace's webhook, the durable inbox of verified deliveries, and the
-- activity feed. Inbox times are unix milliseconds (retries back off in sub-second steps).

CREATE TABLE webhooks (
    workspace_id  TEXT    PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    webhook_id    TEXT    NOT NULL UNIQUE,
    target_url    TEXT    NOT NULL,
    secret_key_id TEXT    NOT NULL,
    secret_sealed BLOB    NOT NULL,
    status        TEXT    NOT NULL,
    checked_at    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Rows outlive their workspace on purpose: an acknowledged delivery is never silently lost.
CREATE TABLE inbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT    NOT NULL UNIQUE,
    webhook_id      TEXT    NOT NULL,
    workspace_id    TEXT    NOT NULL,
    body            BLOB    NOT NULL,
    received_ms     INTEGER NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    lease_until_ms  INTEGER,
    last_error      TEXT,
    processed_ms    INTEGER
);
CREATE INDEX inbox_due ON inbox (status, next_attempt_ms);
CREATE INDEX inbox_workspace ON inbox (workspace_id, status);

CREATE TABLE activity (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    inbox_id     INTEGER NOT NULL,
    event_index  INTEGER NOT NULL,
    event_type   TEXT    NOT NULL,
    actor_type   TEXT,
    actor_id     TEXT,
    subject_kind TEXT,
    subject_id   TEXT,
    occurred_ms  INTEGER NOT NULL,
    UNIQUE (inbox_id, event_index)
);
CREATE INDEX activity_feed ON activity (workspace_id, id);
CREATE INDEX activity_by_type ON activity (workspace_id, event_type, id);

-- Why live updates are off for a workspace (webhook could not be registered, or Attio cannot
-- reach Taskr's public URL), shown on its pages.
ALTER TABLE workspaces ADD COLUMN webhook_note TEXT;
