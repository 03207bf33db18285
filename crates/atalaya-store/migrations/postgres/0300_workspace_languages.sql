-- The languages a workspace's mentions are mostly written in, as comma-separated
-- ISO 639-1 codes in order of preference: a text too short to identify is placed
-- among them (see atalaya_text::language::SHORT_TEXT_MAX_LETTERS).
ALTER TABLE workspaces ADD COLUMN languages TEXT NOT NULL DEFAULT 'es,en';
