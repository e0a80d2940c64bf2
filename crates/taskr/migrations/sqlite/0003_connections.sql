-- Connections: per-user and per-workspace credentials for external services, sealed at rest.
-- `version` grows with every token change, so that concurrent refreshes can tell who won.

CREATE TABLE connections (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    provider       TEXT    NOT NULL,
    owner_kind     TEXT    NOT NULL CHECK (owner_kind IN ('user', 'workspace')),
    owner_id       TEXT    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('secret', 'oauth2')),
    value_key_id   TEXT    NOT NULL,
    value_sealed   BLOB    NOT NULL,
    refresh_key_id TEXT,
    refresh_sealed BLOB,
    expires_at     INTEGER,
    scope          TEXT,
    hint           TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('active', 'needs_reconnect')),
    status_reason  TEXT,
    created_by     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1,
    UNIQUE (provider, owner_kind, owner_id)
);

-- A connection's OAuth flow in progress: single-use, bound to the session, expiring.
CREATE TABLE connection_flows (
    state_hash      BLOB    PRIMARY KEY,
    session_hash    BLOB    NOT NULL,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider        TEXT    NOT NULL,
    owner_kind      TEXT    NOT NULL,
    owner_id        TEXT    NOT NULL,
    verifier_key_id TEXT    NOT NULL,
    verifier_sealed BLOB    NOT NULL,
    return_to       TEXT    NOT NULL,
    expires_at      INTEGER NOT NULL
);
