-- Listening: topics, sources, authors, mentions (with their topic matches and
-- a full-text index), saved views. Times are milliseconds since the Unix epoch.

CREATE TABLE topics (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    query        TEXT    NOT NULL,
    color        TEXT    NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX topics_topic_name_key ON topics (workspace_id, name);

-- Bumped on every change to a workspace's topics, so the pipeline knows when to
-- recompile its matcher without comparing every query.
CREATE TABLE topic_versions (
    workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL
);

CREATE TABLE sources (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id         INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind                 TEXT    NOT NULL,
    name                 TEXT    NOT NULL,
    config               TEXT    NOT NULL,
    sealed_secret        BLOB,
    webhook_token_hash   TEXT,
    enabled              INTEGER NOT NULL,
    archived             INTEGER NOT NULL DEFAULT 0,
    health               TEXT    NOT NULL,
    last_error_code      TEXT,
    last_error           TEXT,
    last_polled_at       INTEGER,
    last_poll_items      INTEGER,
    next_poll_at         INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    mentions_total       INTEGER NOT NULL DEFAULT 0,
    cursor               TEXT,
    created_at           INTEGER NOT NULL
);
CREATE INDEX sources_workspace_idx ON sources (workspace_id);
CREATE INDEX sources_due_idx ON sources (next_poll_at) WHERE enabled = 1 AND archived = 0;
CREATE UNIQUE INDEX sources_webhook_token_hash_key ON sources (webhook_token_hash) WHERE webhook_token_hash IS NOT NULL;

CREATE TABLE authors (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    network      TEXT    NOT NULL,
    handle       TEXT    NOT NULL,
    name         TEXT,
    followers    INTEGER,
    profile_url  TEXT,
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX authors_handle_key ON authors (workspace_id, network, handle);

CREATE TABLE mentions (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id           INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    source_id              INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    external_id            TEXT    NOT NULL,
    url                    TEXT,
    canonical_url          TEXT,
    title                  TEXT,
    text                   TEXT    NOT NULL,
    content_raw            TEXT    NOT NULL,
    author_id              INTEGER REFERENCES authors (id) ON DELETE SET NULL,
    lang                   TEXT    NOT NULL,
    lang_confidence        REAL    NOT NULL,
    sentiment              TEXT    NOT NULL,
    sentiment_model        TEXT    NOT NULL,
    sentiment_score        REAL    NOT NULL,
    sentiment_confidence   REAL    NOT NULL,
    sentiment_corrected_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    sentiment_corrected_at INTEGER,
    published_at           INTEGER NOT NULL,
    ingested_at            INTEGER NOT NULL
);
CREATE UNIQUE INDEX mentions_external_id_key ON mentions (source_id, external_id);
CREATE UNIQUE INDEX mentions_canonical_url_key ON mentions (workspace_id, canonical_url) WHERE canonical_url IS NOT NULL;
CREATE INDEX mentions_published_idx ON mentions (workspace_id, published_at, id);
CREATE INDEX mentions_author_idx ON mentions (author_id);

-- Which topics a mention matched; `spans` is a JSON array of [start, end] byte ranges.
CREATE TABLE mention_topics (
    mention_id INTEGER NOT NULL REFERENCES mentions (id) ON DELETE CASCADE,
    topic_id   INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    spans      TEXT    NOT NULL,
    PRIMARY KEY (mention_id, topic_id)
) WITHOUT ROWID;
CREATE INDEX mention_topics_topic_idx ON mention_topics (topic_id, mention_id);

-- Full text over mentions.text, accent-insensitive ("cafe" finds "Café"). An
-- external-content table: the text is stored once, in mentions.
CREATE VIRTUAL TABLE mentions_fts USING fts5 (
    text,
    content = 'mentions',
    content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 2"
);
CREATE TRIGGER mentions_fts_insert AFTER INSERT ON mentions BEGIN
    INSERT INTO mentions_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER mentions_fts_delete AFTER DELETE ON mentions BEGIN
    INSERT INTO mentions_fts (mentions_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER mentions_fts_update AFTER UPDATE OF text ON mentions BEGIN
    INSERT INTO mentions_fts (mentions_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO mentions_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TABLE saved_views (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    query_string TEXT    NOT NULL,
    created_by   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX saved_views_saved_view_name_key ON saved_views (workspace_id, name);
