-- Efteranteckning (issue 19 §3): a journal entry written after the child's investigation was
-- closed is marked so, when it is written (src/journal/store.rs reads the investigation's
-- closed_at in the transaction of the insert). Entries written before stay unmarked.
-- Keep in step with migrations/sqlite/2026-12-02-000040_journal_after_closing/up.sql.
ALTER TABLE journal_entries ADD COLUMN after_closing BOOLEAN NOT NULL DEFAULT FALSE;
