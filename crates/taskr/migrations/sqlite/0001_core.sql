-- Accounts, sessions, the Attio link and the per-workspace cache of tasks and members.
-- Timestamps are unix seconds (INTEGER); Attio's own timestamps are kept as the text Attio sent.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Only a keyed hash of the session id is stored; the id itself lives in the cookie.
CREATE TABLE sessions (
    id_hash    BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE oauth_states (
    state_hash   BLOB    PRIMARY KEY,
    session_hash BLOB    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at   INTEGER NOT NULL
);

CREATE TABLE workspaces (
    id             TEXT    PRIMARY KEY,
    name           TEXT    NOT NULL,
    slug           TEXT    NOT NULL,
    last_synced_at INTEGER,
    sync_error     TEXT
);

CREATE TABLE attio_links (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    workspace_id  TEXT    NOT NULL REFERENCES workspaces (id),
    member_id     TEXT,
    scopes        TEXT    NOT NULL,
    token_key_id  TEXT    NOT NULL,
    token_sealed  BLOB    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('active', 'broken')),
    broken_reason TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX attio_links_workspace ON attio_links (workspace_id);

CREATE TABLE members (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    member_id    TEXT NOT NULL,
    data         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, member_id)
);

CREATE TABLE tasks (
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    task_id      TEXT    NOT NULL,
    is_completed INTEGER NOT NULL,
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
