-- Keep in step with migrations/postgres/2026-12-02-000055_single_sign_on/down.sql.
ALTER TABLE sessions DROP COLUMN sso_sid;
ALTER TABLE sessions DROP COLUMN sso_provider_id;
DROP TABLE last_sign_ins;
DROP TABLE sso_required;
DROP TABLE sso_logins;
DROP TABLE provider_user_values;
DROP TABLE user_identities;
DROP TABLE identity_providers;
