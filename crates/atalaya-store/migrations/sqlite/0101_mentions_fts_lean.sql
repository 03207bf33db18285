-- The full-text index keeps only which mentions contain each word
-- (`detail=none`, no positions) and no per-row column sizes (`columnsize=0`).
-- Search asks for mentions containing all of some quoted single words, never
-- a phrase, a NEAR group or a ranking, so nothing it needs is lost, and a
-- bulk import writes far less index. The triggers of 0100 keep feeding it:
-- they name the table, which is re-created under the same name.

DROP TABLE mentions_fts;
CREATE VIRTUAL TABLE mentions_fts USING fts5 (
    text,
    content = 'mentions',
    content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 2",
    detail = none,
    columnsize = 0
);
INSERT INTO mentions_fts (mentions_fts) VALUES ('rebuild');
