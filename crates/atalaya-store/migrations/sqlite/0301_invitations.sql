-- Invitations to join a workspace by e-mail link. Only the SHA-256 hex of the
-- link's token is stored. An invitation is pending until it is accepted (once),
-- revoked, or its expiry passes; finished ones stay as history.

CREATE TABLE invitations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    token_hash      TEXT    NOT NULL,
    email           TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    lang            TEXT    NOT NULL,
    invited_by      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    invited_by_name TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    accepted_at     INTEGER,
    accepted_by     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    revoked_at      INTEGER
);
CREATE UNIQUE INDEX invitations_token_hash_key ON invitations (token_hash);
CREATE INDEX invitations_workspace_idx ON invitations (workspace_id, created_at);
