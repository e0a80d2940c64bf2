-- What the tasks page needs beyond a page of the cache: each user's time zone (an IANA name;
-- NULL until chosen or detected, and then UTC), and per task the keys it is searched and sorted
-- by. Taskr computes the keys when it writes a task (content folded to lower case the way
-- Rust folds Unicode; the deadline as a UTC sort key). Rows cached before this migration have
-- none yet: the next full sync rewrites them (see `cache_sql::CACHED_TASKS`).
ALTER TABLE users ADD COLUMN time_zone TEXT;
ALTER TABLE tasks ADD COLUMN content_key TEXT;
ALTER TABLE tasks ADD COLUMN deadline_key TEXT;
CREATE INDEX tasks_by_deadline ON tasks (workspace_id, is_completed, deadline_key);
