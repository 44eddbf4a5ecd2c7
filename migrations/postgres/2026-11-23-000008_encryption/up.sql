-- Encryption at rest (docs/security.md): the child's identity and the free text are sealed by the
-- service (src/crypto), so SQL can no longer compare personnummer. Earlier reports about the same
-- child are found through a blind index: HMAC-SHA-256 of the canonical personnummer under the
-- index key. Rows stored before this migration get theirs from `samordna keys rotate`.
-- Keep in step with migrations/sqlite/2026-11-23-000008_encryption/up.sql.
ALTER TABLE report_children ADD COLUMN personal_number_index TEXT;
DROP INDEX report_children_personal_number;
CREATE INDEX report_children_personal_number_index ON report_children(personal_number_index);
