ALTER TABLE audit_head DROP COLUMN keyed;
