DROP INDEX outbox_municipality;
ALTER TABLE outbox DROP COLUMN municipality_id;
DROP INDEX audit_log_municipality;
ALTER TABLE audit_log DROP COLUMN municipality_id;
