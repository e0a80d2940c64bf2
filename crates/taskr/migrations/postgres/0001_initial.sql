-- Taskr's PostgreSQL schema: the same tables and columns as SQLite's migrations 0001-0005 end
-- up with, so that both stores share their row mapping.
--
-- Types: unix timestamps are BIGINT (seconds, or milliseconds where the column says `_ms`);
-- sealed values and hashes are BYTEA; surrogate keys are BIGINT identities. Attio's ids (and
-- connection owners, which are a user id or a workspace id) are TEXT, compared as text exactly
-- as in SQLite; Attio's own timestamps are kept as the text Attio sent.

-- Accounts ----------------------------------------------------------------------------------

-- `username_key` (case-folded) and `username_skeleton` (Unicode TS #39 confusable skeleton) are
-- unique under these constraint names: the store tells "taken" from "looks like" by them.
CREATE TABLE users (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username          TEXT   NOT NULL,
    username_key      TEXT   NOT NULL CONSTRAINT users_username_key UNIQUE,
    password_hash     TEXT   NOT NULL,
    created_at        BIGINT NOT NULL,
    -- NULL for users made before skeletons (filled at start-up); NULLs do not collide.
    username_skeleton TEXT   CONSTRAINT users_skeleton UNIQUE
);

-- Only a keyed hash of the session id is stored; the id itself lives in the cookie.
CREATE TABLE sessions (
    id_hash    BYTEA  PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE oauth_states (
    state_hash   BYTEA  PRIMARY KEY,
    session_hash BYTEA  NOT NULL,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);

-- Attio links and each workspace's cache ----------------------------------------------------

CREATE TABLE workspaces (
    id                        TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    slug                      TEXT NOT NULL,
    last_synced_at            BIGINT,
    sync_error                TEXT,
    -- Why live updates are off for the workspace, shown on its pages.
    webhook_note              TEXT,
    -- What Attio last answered when Taskr read the workspace (NULL: a success), and since when.
    upstream_problem          TEXT,
    upstream_problem_since_ms BIGINT
);

CREATE TABLE attio_links (
    user_id       BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    workspace_id  TEXT   NOT NULL REFERENCES workspaces (id),
    member_id     TEXT,
    scopes        TEXT   NOT NULL,
    token_key_id  TEXT   NOT NULL,
    token_sealed  BYTEA  NOT NULL,
    status        TEXT   NOT NULL CHECK (status IN ('active', 'broken')),
    broken_reason TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX attio_links_workspace ON attio_links (workspace_id);

CREATE TABLE members (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    member_id    TEXT NOT NULL,
    data         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, member_id)
);

-- `data` is the task as JSON text (not JSONB): the cache compares it byte for byte to tell a
-- changed task from an unchanged one, and JSONB would reorder its keys.
CREATE TABLE tasks (
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    task_id      TEXT    NOT NULL,
    is_completed BOOLEAN NOT NULL,
    created_at   TEXT    NOT NULL,
    data         TEXT    NOT NULL,
    PRIMARY KEY (workspace_id, task_id)
);
CREATE INDEX tasks_listing ON tasks (workspace_id, is_completed, created_at);

CREATE TABLE task_assignees (
    workspace_id TEXT NOT NULL,
    task_id      TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, task_id, member_id),
    FOREIGN KEY (workspace_id, task_id) REFERENCES tasks (workspace_id, task_id) ON DELETE CASCADE
);
CREATE INDEX task_assignees_member ON task_assignees (workspace_id, member_id);

-- Real-time sync ----------------------------------------------------------------------------

CREATE TABLE webhooks (
    workspace_id  TEXT   PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    webhook_id    TEXT   NOT NULL UNIQUE,
    target_url    TEXT   NOT NULL,
    secret_key_id TEXT   NOT NULL,
    secret_sealed BYTEA  NOT NULL,
    status        TEXT   NOT NULL,
    checked_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- The durable inbox; times in unix milliseconds. Rows outlive their workspace on purpose: an
-- acknowledged delivery is never silently lost. Several instances claim from it with
-- `FOR UPDATE SKIP LOCKED`; a claim is a lease (`lease_until_ms`) that runs out by itself
-- when its instance dies.
CREATE TABLE inbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key TEXT   NOT NULL UNIQUE,
    webhook_id      TEXT   NOT NULL,
    workspace_id    TEXT   NOT NULL,
    body            BYTEA  NOT NULL,
    received_ms     BIGINT NOT NULL,
    status          TEXT   NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    lease_until_ms  BIGINT,
    last_error      TEXT,
    processed_ms    BIGINT
);
CREATE INDEX inbox_due ON inbox (status, next_attempt_ms);
CREATE INDEX inbox_workspace ON inbox (workspace_id, status);

CREATE TABLE activity (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id TEXT   NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    inbox_id     BIGINT NOT NULL,
    event_index  BIGINT NOT NULL,
    event_type   TEXT   NOT NULL,
    actor_type   TEXT,
    actor_id     TEXT,
    subject_kind TEXT,
    subject_id   TEXT,
    occurred_ms  BIGINT NOT NULL,
    UNIQUE (inbox_id, event_index)
);
CREATE INDEX activity_feed ON activity (workspace_id, id);
CREATE INDEX activity_by_type ON activity (workspace_id, event_type, id);

-- Connections -------------------------------------------------------------------------------

-- Per-user and per-workspace credentials, sealed at rest. `version` grows with every token
-- change, so that concurrent refreshes can tell who won. A secret's `hint` is empty; an OAuth
-- access token's is its last 4 characters.
CREATE TABLE connections (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider       TEXT   NOT NULL,
    owner_kind     TEXT   NOT NULL CHECK (owner_kind IN ('user', 'workspace')),
    owner_id       TEXT   NOT NULL,
    kind           TEXT   NOT NULL CHECK (kind IN ('secret', 'oauth2')),
    value_key_id   TEXT   NOT NULL,
    value_sealed   BYTEA  NOT NULL,
    refresh_key_id TEXT,
    refresh_sealed BYTEA,
    expires_at     BIGINT,
    scope          TEXT,
    hint           TEXT   NOT NULL,
    status         TEXT   NOT NULL CHECK (status IN ('active', 'needs_reconnect')),
    status_reason  TEXT,
    created_by     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    version        BIGINT NOT NULL DEFAULT 1,
    UNIQUE (provider, owner_kind, owner_id)
);

-- A connection's OAuth flow in progress: single-use, bound to the session, expiring.
CREATE TABLE connection_flows (
    state_hash      BYTEA  PRIMARY KEY,
    session_hash    BYTEA  NOT NULL,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider        TEXT   NOT NULL,
    owner_kind      TEXT   NOT NULL,
    owner_id        TEXT   NOT NULL,
    verifier_key_id TEXT   NOT NULL,
    verifier_sealed BYTEA  NOT NULL,
    return_to       TEXT   NOT NULL,
    expires_at      BIGINT NOT NULL
);
