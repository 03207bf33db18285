-- Backfills: the re-matching of a topic's stored mentions after the topic was
-- created, its query changed or it was switched back on. One row per request,
-- queued with its `listening.backfill` job in the same transaction. The cursor
-- is the last mention re-matched in (published_at, id) order, saved with each
-- batch's links, so a crashed job resumes where it stopped.
CREATE TABLE topic_backfills (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id        INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    topic_id            INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    query               TEXT    NOT NULL,
    state               TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'superseded')),
    window_from         INTEGER NOT NULL,
    total               INTEGER NOT NULL DEFAULT 0,
    scanned             INTEGER NOT NULL DEFAULT 0,
    matched             INTEGER NOT NULL DEFAULT 0,
    removed             INTEGER NOT NULL DEFAULT 0,
    cursor_published_at INTEGER NOT NULL,
    cursor_id           INTEGER NOT NULL DEFAULT 0,
    error               TEXT,
    created_at          INTEGER NOT NULL,
    started_at          INTEGER,
    finished_at         INTEGER
);
CREATE INDEX topic_backfills_topic_idx ON topic_backfills (workspace_id, topic_id, id);
