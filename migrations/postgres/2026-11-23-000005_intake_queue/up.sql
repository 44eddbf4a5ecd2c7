-- The intake queue: one row per report still waiting for a decision, keyed by the clock that runs
-- out first, so that the queue is read from an index in the order it is worked, however many
-- decided reports the database holds. Kept in step with the report in the same transaction: added
-- when a report is filed, moved to the decision clock at the safety assessment, removed at the
-- decision. Keep in step with migrations/sqlite/2026-11-23-000005_intake_queue/up.sql.
CREATE TABLE intake_queue (
    report_id TEXT PRIMARY KEY NOT NULL REFERENCES reports(id),
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    due_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX intake_queue_order ON intake_queue(municipality_id, due_at, received_at);

-- Reports filed before this table existed. The decision clock ends at 23:59:59 Stockholm time;
-- here it is taken as 22:59:59 UTC (winter time), which only orders these rows (the page and the
-- API compute every clock from the report itself).
INSERT INTO intake_queue (report_id, municipality_id, due_at, received_at)
SELECT r.id, r.municipality_id,
       CASE WHEN s.report_id IS NULL THEN r.safety_due_at
            ELSE r.decision_due_on + TIME '22:59:59' END,
       r.received_at
FROM reports r
LEFT JOIN safety_assessments s ON s.report_id = r.id
LEFT JOIN report_decisions d ON d.report_id = r.id
WHERE d.report_id IS NULL;
