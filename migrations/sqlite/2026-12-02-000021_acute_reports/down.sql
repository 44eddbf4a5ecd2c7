DROP INDEX intake_queue_acute_first;
ALTER TABLE intake_queue DROP COLUMN acute;
ALTER TABLE reports DROP COLUMN acute;
