-- Each municipality's admins see only their own: audit entries and outgoing mail are marked with
-- the municipality they belong to (src/audit, src/mail). Entries and mail from before this have
-- none and are shown to no municipality; the audit chain keeps their hashes.
-- Keep in step with migrations/sqlite/2026-12-01-000009_municipality_scope/up.sql.
ALTER TABLE audit_log ADD COLUMN municipality_id TEXT;
CREATE INDEX audit_log_municipality ON audit_log(municipality_id, seq);
ALTER TABLE outbox ADD COLUMN municipality_id TEXT;
CREATE INDEX outbox_municipality ON outbox(municipality_id, created_at);
