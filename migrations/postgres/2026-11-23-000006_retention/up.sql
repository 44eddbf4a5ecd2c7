-- Retention (gallring): how many months each municipality keeps reports that did not lead to an
-- investigation, per law version. Without a row, src/reports/retention.rs uses 60 months.
-- Keep in step with migrations/sqlite/2026-11-23-000006_retention/up.sql.
CREATE TABLE retention_rules (
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    law_version TEXT NOT NULL,
    months INTEGER NOT NULL,
    PRIMARY KEY (municipality_id, law_version)
);
CREATE INDEX report_decisions_retention ON report_decisions(decision, decided_at);
