-- What the tasks page needs beyond a page of the cache: each user's time zone (an IANA name;
-- NULL until chosen or detected, and then UTC), per task the keys it is searched and sorted
-- by, and per record the key its name is searched by. Taskr computes the keys when it writes
-- (text folded to lower case the way Rust folds Unicode; the deadline as a UTC sort key).
-- Tasks cached before this migration have none yet: the next full sync rewrites them (see
-- `cache_sql::CACHED_TASKS`). Record names are folded here as the database folds them, and
-- exactly when Taskr next reads the record (every reconcile re-reads linked records).
ALTER TABLE users ADD COLUMN time_zone TEXT;
ALTER TABLE tasks ADD COLUMN content_key TEXT;
ALTER TABLE tasks ADD COLUMN deadline_key TEXT;
CREATE INDEX tasks_by_deadline ON tasks (workspace_id, is_completed, deadline_key);
ALTER TABLE records ADD COLUMN name_key TEXT;
UPDATE records SET name_key = lower(name) WHERE name IS NOT NULL;
