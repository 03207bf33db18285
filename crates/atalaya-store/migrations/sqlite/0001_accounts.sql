-- Accounts, workspaces, sessions, API tokens, sign-in rate limiting and the audit log.
-- Times are milliseconds since the Unix epoch; booleans are 0/1 integers.

CREATE TABLE users (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    username          TEXT    NOT NULL,
    email             TEXT    NOT NULL,
    display_name      TEXT    NOT NULL,
    password_hash     TEXT    NOT NULL,
    ui_lang           TEXT,
    is_instance_admin INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE workspaces (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    slug       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    is_demo    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX workspaces_slug_key ON workspaces (slug);

CREATE TABLE memberships (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE login_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    attempt_key  TEXT    NOT NULL,
    attempted_at INTEGER NOT NULL
);
CREATE INDEX login_attempts_key_idx ON login_attempts (attempt_key, attempted_at);
CREATE INDEX login_attempts_at_idx ON login_attempts (attempted_at);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER REFERENCES workspaces (id) ON DELETE CASCADE,
    actor_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor_name   TEXT,
    action       TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    at           INTEGER NOT NULL
);
CREATE INDEX audit_log_workspace_idx ON audit_log (workspace_id, id);
