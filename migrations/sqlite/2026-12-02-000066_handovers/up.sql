-- Hand-over of a child's report to the municipality's case system (issue 21 §2): the case
-- system's registration number (diarienummer) and when it was handed over, one row per child of a
-- report, recorded by an intake officer or an integration token (recorded_by names either).
-- Keep in step with migrations/postgres/2026-12-02-000066_handovers/up.sql.
CREATE TABLE report_handovers (
    child_id TEXT PRIMARY KEY NOT NULL REFERENCES report_children(id),
    report_id TEXT NOT NULL REFERENCES reports(id),
    registration_number TEXT NOT NULL,
    handed_over_at TIMESTAMP NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX report_handovers_report ON report_handovers(report_id);
