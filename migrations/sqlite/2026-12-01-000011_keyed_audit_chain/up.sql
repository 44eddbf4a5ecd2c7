-- The audit chain is keyed (HMAC-SHA-256 under SAMORDNA_AUDIT_KEY, src/audit/mod.rs). `keyed`
-- says whether the entries already in the trail are chained that way: entries written before
-- were chained with plain SHA-256 and are re-chained once, at the first start after this
-- migration, in one transaction that also sets it (`audit::open`).
-- Keep in step with migrations/postgres/2026-12-01-000011_keyed_audit_chain/up.sql.
ALTER TABLE audit_head ADD COLUMN keyed BOOLEAN NOT NULL DEFAULT 0;
