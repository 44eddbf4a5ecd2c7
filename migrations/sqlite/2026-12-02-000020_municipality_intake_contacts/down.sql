ALTER TABLE municipalities DROP COLUMN intake_alert_email;
ALTER TABLE municipalities DROP COLUMN socialjour_alert_email;
ALTER TABLE municipalities DROP COLUMN socialjour_phone;
ALTER TABLE municipalities DROP COLUMN office_hours;
