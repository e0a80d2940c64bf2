-- Usernames are unique by their confusable skeleton (Unicode TS #39) as well as by their key, so
-- that look-alikes ("Аlice" with a Cyrillic А beside "Alice") cannot be registered. Users made
-- before this get theirs at start-up (accounts::backfill_username_keys); NULLs do not collide.
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
CREATE UNIQUE INDEX users_skeleton ON users (username_skeleton);

-- Secrets shorter than 12 characters are no longer hinted at by their last 4 characters, and
-- the hint of a stored secret cannot tell its length: existing secret hints are dropped (OAuth
-- access tokens are long, and theirs stay).
UPDATE connections SET hint = '' WHERE kind = 'secret';
