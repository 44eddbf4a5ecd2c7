-- The journal of a child's case (issue 19 §1): dated entries written by intake officers during
-- the förhandsbedömning and by caseworkers during the investigation. An entry is a draft until
-- its author signs it; once signed it is never changed (src/journal/store.rs has no update but
-- signing a draft). A correction is a new entry whose corrects_id names the corrected one.
-- The participants and the text are sealed at rest.
-- Keep in step with migrations/sqlite/2026-12-02-000030_journal/up.sql.
CREATE TABLE journal_entries (
    id TEXT PRIMARY KEY NOT NULL,
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    child_id TEXT NOT NULL REFERENCES report_children(id) ON DELETE CASCADE,
    investigation_id TEXT REFERENCES investigations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    happened_at TIMESTAMP NOT NULL,
    participants TEXT NOT NULL,
    text TEXT NOT NULL,
    author_id TEXT NOT NULL REFERENCES users(id),
    author_name TEXT NOT NULL,
    author_title TEXT NOT NULL,
    written_at TIMESTAMP NOT NULL,
    signed_at TIMESTAMP,
    corrects_id TEXT REFERENCES journal_entries(id) ON DELETE CASCADE
);
CREATE INDEX journal_entries_child ON journal_entries(child_id, happened_at);
