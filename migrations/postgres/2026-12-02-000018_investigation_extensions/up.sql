-- Every extension of an investigation's 4-month clock is its own recorded decision (issue 18 §4):
-- when, who decided, the last day before and after, and the special reasons (sealed).
-- An extension recorded before this table stays in investigations.extended_* and is shown as the
-- first of the history (its reason is sealed for that column, so it cannot be moved here in SQL).
-- Keep in step with migrations/sqlite/2026-12-02-000018_investigation_extensions/up.sql.
CREATE TABLE investigation_extensions (
    id TEXT PRIMARY KEY NOT NULL,
    investigation_id TEXT NOT NULL REFERENCES investigations(id),
    extended_at TIMESTAMP NOT NULL,
    extended_by TEXT NOT NULL REFERENCES users(id),
    previous_due_on DATE NOT NULL,
    due_on DATE NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX investigation_extensions_investigation
    ON investigation_extensions(investigation_id, extended_at);
