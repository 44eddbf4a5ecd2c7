-- Closing an investigation (issue 19 §3): one row per closed investigation, written with the
-- investigations row's closed_at/outcome in the same transaction. The outcome (support_granted,
-- no_support, transferred, other), which support (sealed; empty unless support was granted), the
-- day it was closed, the reason (sealed), who closed it, and the clock as it stood: the last day
-- then and the days late (0 when closed in time), kept on record.
-- Keep in step with migrations/postgres/2026-12-02-000032_investigation_closings/up.sql.
CREATE TABLE investigation_closings (
    investigation_id TEXT PRIMARY KEY NOT NULL REFERENCES investigations(id),
    closed_at TIMESTAMP NOT NULL,
    closed_by TEXT NOT NULL REFERENCES users(id),
    closed_on DATE NOT NULL,
    outcome TEXT NOT NULL,
    support TEXT NOT NULL,
    reason TEXT NOT NULL,
    due_on DATE NOT NULL,
    days_late INTEGER NOT NULL
);
