-- Acute reports (issue 18 §2): a report marked acute danger, or whose categories bring in the
-- violence rule, is acute (reports::model::is_acute, decided when it is filed and kept, so a later
-- change of the rule does not change what intake was told). It stands first in the intake queue
-- until its safety assessment is documented: intake_queue.acute, cleared then, leads the queue's
-- order, read from an index of its own; the counts of overdue and due-today keep using
-- intake_queue_order, whose range on due_at an index led by acute could not serve.
-- Reports filed before this: acute as the rule reads today (acute danger, violence in the home,
-- honour-related violence).
-- Keep in step with migrations/postgres/2026-12-02-000021_acute_reports/up.sql.
ALTER TABLE reports ADD COLUMN acute BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE intake_queue ADD COLUMN acute BOOLEAN NOT NULL DEFAULT 0;
UPDATE reports SET acute = 1
WHERE acute_danger = 1
   OR ',' || categories || ',' LIKE '%,violence_in_home,%'
   OR ',' || categories || ',' LIKE '%,honour_violence,%';
UPDATE intake_queue SET acute = 1
WHERE report_id IN (SELECT id FROM reports WHERE acute = 1)
  AND report_id NOT IN (SELECT report_id FROM safety_assessments);
CREATE INDEX intake_queue_acute_first
    ON intake_queue(municipality_id, acute DESC, due_at, received_at);
