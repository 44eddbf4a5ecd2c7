ALTER TABLE journal_entries DROP COLUMN after_closing;
