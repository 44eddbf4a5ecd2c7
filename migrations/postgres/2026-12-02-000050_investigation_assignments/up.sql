-- The caseworker an investigation is assigned to (Mina utredningar): one at a time; who assigned
-- them and when is kept here and every assignment is in the audit trail. Holds no child data.
-- Keep in step with migrations/sqlite/2026-12-02-000050_investigation_assignments/up.sql.
CREATE TABLE investigation_assignments (
    investigation_id TEXT PRIMARY KEY NOT NULL REFERENCES investigations(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id),
    assigned_by TEXT NOT NULL REFERENCES users(id),
    assigned_at TIMESTAMP NOT NULL
);
CREATE INDEX investigation_assignments_user ON investigation_assignments(user_id);
