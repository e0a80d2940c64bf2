-- Limits shared by every Taskr instance on this database: the per-address rate limit of
-- log-ins and sign-ups, and the per-account throttle of failed log-ins
-- (`coordination::limits`). With SQLite both live in the one process's memory.
--
-- UNLOGGED: this is short-lived state, written on every log-in attempt; it is not worth the
-- write-ahead log. A crash of the database server (or a fail-over to a standby) empties these
-- tables, which forgets the counts exactly as restarting a single instance always has.
-- Rows are pruned as they expire (`coordination::limits::postgres`), so a flood from many
-- addresses or usernames cannot grow them without bound.

-- GCRA per client address: `tat_ms` is the "theoretical arrival time" (unix ms) after which
-- the address has its whole burst again. A row whose `tat_ms` has passed means the same as no
-- row, and may be deleted.
CREATE UNLOGGED TABLE auth_rate_limits (
    address TEXT   PRIMARY KEY,
    tat_ms  BIGINT NOT NULL
);
CREATE INDEX auth_rate_limits_tat ON auth_rate_limits (tat_ms);

-- Failed log-ins per throttle key (an account, or an account on a known device). The key is
-- kept only as an HMAC under the sealing key, so what people typed as a username (sometimes a
-- password, by mistake) is never stored.
CREATE UNLOGGED TABLE login_throttle (
    key_hash         BYTEA   PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_ms  BIGINT  NOT NULL,
    blocked_until_ms BIGINT  NOT NULL
);
CREATE INDEX login_throttle_last_failure ON login_throttle (last_failure_ms);
