-- Names: the records tasks link to, the workspace's objects (for their nouns), and the other
-- things events are about (notes, lists, attributes, meetings, deleted tasks), so that pages
-- say "Initech · Company" and "Alice Moreau commented on Initech" instead of ids. A row with
-- `stale` is wanted from Attio (never read, or changed since); `retry_at_ms` spaces the
-- reads of one that failed. Times are unix milliseconds.

CREATE TABLE objects (
    workspace_id  TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    object_id     TEXT NOT NULL,
    api_slug      TEXT NOT NULL,
    singular_noun TEXT NOT NULL,
    plural_noun   TEXT NOT NULL,
    PRIMARY KEY (workspace_id, object_id)
);

-- `object` is how the record's object was named where Taskr first saw it (a task's
-- `target_object_id` or an event's `object_id`: a slug or an id); `object_id` is Attio's id once
-- read. `name` is NULL until read; `problem` says why a read did not give one ('forbidden':
-- the link lacks the scope; else the last error). A merged record keeps its row, with the
-- record it went into.
CREATE TABLE records (
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    record_id    TEXT    NOT NULL,
    object       TEXT    NOT NULL,
    object_id    TEXT,
    name         TEXT,
    web_url      TEXT,
    deleted      BOOLEAN NOT NULL DEFAULT FALSE,
    merged_into  TEXT,
    fetched_ms   BIGINT,
    stale        BOOLEAN NOT NULL DEFAULT TRUE,
    attempts     BIGINT NOT NULL DEFAULT 0,
    retry_at_ms  BIGINT NOT NULL DEFAULT 0,
    problem      TEXT,
    PRIMARY KEY (workspace_id, record_id)
);
CREATE INDEX records_wanted ON records (workspace_id, stale, retry_at_ms);

-- Which records each cached task links, kept with the task (like task_assignees), so that
-- tasks can be found by the names of their records with a join.
CREATE TABLE task_records (
    workspace_id TEXT NOT NULL,
    task_id      TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, task_id, record_id),
    FOREIGN KEY (workspace_id, task_id) REFERENCES tasks (workspace_id, task_id) ON DELETE CASCADE
);
CREATE INDEX task_records_record ON task_records (workspace_id, record_id);

-- `kind`: note, list, attribute, meeting, task (a deleted task's content), objects (the row
-- `objects`/`*` asks for the objects list). `parent` is what the thing belongs to where that
-- matters (a note's record, an attribute's list or object: `list:<id>` or `object:<id>`).
CREATE TABLE names (
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    parent       TEXT,
    name         TEXT,
    deleted      BOOLEAN NOT NULL DEFAULT FALSE,
    fetched_ms   BIGINT,
    stale        BOOLEAN NOT NULL DEFAULT TRUE,
    attempts     BIGINT NOT NULL DEFAULT 0,
    retry_at_ms  BIGINT NOT NULL DEFAULT 0,
    problem      TEXT,
    PRIMARY KEY (workspace_id, kind, id)
);
CREATE INDEX names_wanted ON names (workspace_id, stale, retry_at_ms);

-- The feed keeps each event as delivered (ids only), so that its sentence can name whatever
-- it refers to when the feed is shown, and its family for the filter.
ALTER TABLE activity ADD COLUMN event TEXT;
ALTER TABLE activity ADD COLUMN family TEXT;
UPDATE activity SET family = CASE
    WHEN event_type LIKE 'task.%' THEN 'task'
    WHEN event_type LIKE 'record.%' THEN 'record'
    WHEN event_type LIKE 'note.%' OR event_type LIKE 'note-content.%' THEN 'note'
    WHEN event_type LIKE 'comment.%' THEN 'comment'
    WHEN event_type LIKE 'list.%' THEN 'list'
    WHEN event_type LIKE 'list-entry.%' THEN 'list-entry'
    WHEN event_type LIKE 'list-attribute.%' OR event_type LIKE 'object-attribute.%' THEN 'attribute'
    WHEN event_type LIKE 'workspace-member.%' THEN 'member'
    WHEN event_type LIKE 'call-recording.%' THEN 'call-recording'
    ELSE 'other' END;
CREATE INDEX activity_by_family ON activity (workspace_id, family, id);
CREATE INDEX activity_by_actor ON activity (workspace_id, actor_id, id);

-- Tasks cached before this migration: their links, and a wanted row per linked record.
INSERT INTO task_records (workspace_id, task_id, record_id)
SELECT t.workspace_id, t.task_id, l ->> 'target_record_id'
FROM tasks t, jsonb_array_elements(t.data::jsonb -> 'linked_records') l
WHERE l ->> 'target_record_id' IS NOT NULL
ON CONFLICT DO NOTHING;
INSERT INTO records (workspace_id, record_id, object)
SELECT t.workspace_id, l ->> 'target_record_id', l ->> 'target_object_id'
FROM tasks t, jsonb_array_elements(t.data::jsonb -> 'linked_records') l
WHERE l ->> 'target_record_id' IS NOT NULL AND l ->> 'target_object_id' IS NOT NULL
ON CONFLICT DO NOTHING;
