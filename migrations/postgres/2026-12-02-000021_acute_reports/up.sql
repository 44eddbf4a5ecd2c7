-- Acute reports (issue 18 §2): a report marked acute danger, or whose categories bring in the
-- violence rule, is acute (reports::model::is_acute, decided when it is filed and kept, so a later
-- change of the rule does not change what intake was told). It stands first in the intake queue
-- until its safety assessment is documented: intake_queue.acute, cleared then, leads the queue's
-- order and its index.
-- Reports filed before this: acute as the rule reads today (acute danger, violence in the home,
-- honour-related violence).
-- Keep in step with migrations/sqlite/2026-12-02-000021_acute_reports/up.sql.
ALTER TABLE reports ADD COLUMN acute BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE intake_queue ADD COLUMN acute BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE reports SET acute = TRUE
WHERE acute_danger = TRUE
   OR ',' || categories || ',' LIKE '%,violence_in_home,%'
   OR ',' || categories || ',' LIKE '%,honour_violence,%';
UPDATE intake_queue SET acute = TRUE
WHERE report_id IN (SELECT id FROM reports WHERE acute = TRUE)
  AND report_id NOT IN (SELECT report_id FROM safety_assessments);
DROP INDEX intake_queue_order;
CREATE INDEX intake_queue_order ON intake_queue(municipality_id, acute DESC, due_at, received_at);
