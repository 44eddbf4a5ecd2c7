-- Two-factor sign-in (TOTP, RFC 6238) with recovery codes, for every role that can read a
-- child's data. Keep in step with migrations/postgres/2026-11-23-000007_two_factor/up.sql.
--
-- users.totp_secret: the shared secret (base32, sealed like a child's data), set with
-- totp_enabled_at once the user has proved with a code that their app has it. totp_last_step is
-- the last 30-second step a code was accepted for, so that a code cannot be used twice.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- One-time recovery codes; only their HMAC under the service's secret key is kept.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    PRIMARY KEY (user_id, code_hash)
);

-- When the session's second factor was checked; NULL while it waits for a code. A secret shown
-- on the set-up page belongs to the session that asked for it until a code confirms it.
ALTER TABLE sessions ADD COLUMN second_factor_at TIMESTAMP;
ALTER TABLE sessions ADD COLUMN pending_totp_secret TEXT;
