-- Connected network accounts (Mastodon, Bluesky), Mastodon app registrations,
-- pending OAuth authorizations, and the account a source listens through.
-- Credentials and client secrets are sealed (XChaCha20-Poly1305) by the caller.

CREATE TABLE network_accounts (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id         INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    network              TEXT    NOT NULL,
    server_url           TEXT    NOT NULL,
    remote_id            TEXT    NOT NULL,
    handle               TEXT    NOT NULL,
    display_name         TEXT,
    sealed_credentials   BLOB    NOT NULL,
    state                TEXT    NOT NULL,
    state_code           TEXT,
    state_reason         TEXT,
    blocked_until        INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    connected_by         INTEGER REFERENCES users (id) ON DELETE SET NULL,
    connected_at         INTEGER NOT NULL,
    last_ok_at           INTEGER,
    updated_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX network_accounts_identity_key
    ON network_accounts (workspace_id, network, server_url, remote_id);

CREATE TABLE oauth_apps (
    server_url           TEXT    NOT NULL,
    redirect_uri         TEXT    NOT NULL,
    client_id            TEXT    NOT NULL,
    sealed_client_secret BLOB    NOT NULL,
    created_at           INTEGER NOT NULL,
    PRIMARY KEY (server_url, redirect_uri)
);

CREATE TABLE oauth_pending (
    state_hash   TEXT    PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    network      TEXT    NOT NULL,
    server_url   TEXT    NOT NULL,
    redirect_uri TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

ALTER TABLE sources ADD COLUMN account_id INTEGER REFERENCES network_accounts (id) ON DELETE SET NULL;
CREATE INDEX sources_account_idx ON sources (account_id) WHERE account_id IS NOT NULL;
