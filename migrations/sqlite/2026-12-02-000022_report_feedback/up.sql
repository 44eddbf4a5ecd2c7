-- Feedback to a reporter with a duty to report (issue 18 §7): from 2026-01-15 (prop. 2025/26:12)
-- due within a set time after the decision (SAMORDNA_FEEDBACK_DAYS). One row per decided report
-- of a professional reporter, written with the decision: the last day (NULL when the rules of the
-- decision's day set no time limit) and the content-free message queued to tell them, whose
-- outbox status says whether it has been sent. Reports decided before this have no row.
-- Keep in step with migrations/postgres/2026-12-02-000022_report_feedback/up.sql.
CREATE TABLE report_feedback (
    report_id TEXT PRIMARY KEY NOT NULL REFERENCES reports(id),
    due_on DATE,
    outbox_id TEXT
);
