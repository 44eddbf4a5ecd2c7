-- Each municipality's own intake settings (src/reports/store/contacts.rs), set with
-- `samordna municipality set`: its office hours ("08:00-16:30"; NULL: SAMORDNA_OFFICE_HOURS),
-- the socialjour's phone number (shown to a reporter who files an acute report out of hours),
-- and the addresses an acute report's content-free alert goes to: the intake's in office hours,
-- the socialjour's outside them. Empty text: not set.
-- Keep in step with migrations/sqlite/2026-12-02-000020_municipality_intake_contacts/up.sql.
ALTER TABLE municipalities ADD COLUMN office_hours TEXT;
ALTER TABLE municipalities ADD COLUMN socialjour_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE municipalities ADD COLUMN socialjour_alert_email TEXT NOT NULL DEFAULT '';
ALTER TABLE municipalities ADD COLUMN intake_alert_email TEXT NOT NULL DEFAULT '';
