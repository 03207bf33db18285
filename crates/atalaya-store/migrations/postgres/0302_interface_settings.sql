-- Interface settings: the workspace's time zone (every time shown or entered in
-- the interface is in it; IANA name, checked by the web layer) and each user's
-- colour theme (NULL follows the operating system).
ALTER TABLE workspaces ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE users ADD COLUMN theme TEXT;
