-- The durable job queue. A job is `queued` until a worker claims it (`running`, with a
-- lease it keeps extending), then `succeeded`, or back to `queued` for a retry, or `dead`.

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    run_after        INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    last_error       TEXT,
    unique_key       TEXT,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
-- At most one unfinished job per unique key; finished jobs keep theirs as history.
CREATE UNIQUE INDEX jobs_unique_key_key ON jobs (unique_key) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_due_idx ON jobs (status, run_after, id);
