-- The full-text index is fed once per stored batch instead of once per row.
--
-- FTS5 writes its pending words to a new on-disk segment whenever a statement
-- opens a savepoint, and every multi-row INSERT into mentions does. Fed by the
-- insert trigger, the index therefore got one small segment per 500-row INSERT,
-- and writing and merging those segments was about 40% of a bulk insert's time. `Mentions::insert_batch`
-- (the only INSERT into mentions) now adds the batch's new rows with one
-- `INSERT INTO mentions_fts ... SELECT` after its mention INSERTs, so each
-- transaction writes one segment. Deletes and text updates keep their triggers.
--
-- `hashsize` lets a whole batch's words (a few MB for 10,000 posts) wait in
-- memory until that statement ends rather than being flushed at the default 1 MB.

DROP TRIGGER mentions_fts_insert;
INSERT INTO mentions_fts (mentions_fts, rank) VALUES ('hashsize', 16777216);
