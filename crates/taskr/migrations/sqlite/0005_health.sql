-- Sync health: what Attio last answered when Taskr read a workspace (NULL when the last call
-- succeeded), and since when that has been so, in unix milliseconds. The tasks page uses it,
-- with the inbox's backlog, to say when its data may be stale.
ALTER TABLE workspaces ADD COLUMN upstream_problem TEXT;
ALTER TABLE workspaces ADD COLUMN upstream_problem_since_ms INTEGER;
