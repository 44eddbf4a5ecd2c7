DROP INDEX intake_queue_order;
CREATE INDEX intake_queue_order ON intake_queue(municipality_id, due_at, received_at);
ALTER TABLE intake_queue DROP COLUMN acute;
ALTER TABLE reports DROP COLUMN acute;
