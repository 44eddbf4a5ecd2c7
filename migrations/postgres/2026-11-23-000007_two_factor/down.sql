ALTER TABLE sessions DROP COLUMN pending_totp_secret;
ALTER TABLE sessions DROP COLUMN second_factor_at;
DROP TABLE recovery_codes;
ALTER TABLE users DROP COLUMN totp_last_step;
ALTER TABLE users DROP COLUMN totp_enabled_at;
ALTER TABLE users DROP COLUMN totp_secret;
