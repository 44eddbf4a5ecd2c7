-- Sign-in attempts, shared by every instance (src/accounts/throttle.rs): one row per attempt at
-- a password or a second-step code, for 15 minutes. `key` is an HMAC of what is counted (the
-- address as typed, the client's network address, a user's code), so neither a typed address
-- nor a network address is stored.
-- Keep in step with migrations/postgres/2026-12-01-000010_sign_in_attempts/up.sql.
CREATE TABLE sign_in_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    key TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_attempts_key ON sign_in_attempts(key);
CREATE INDEX sign_in_attempts_at ON sign_in_attempts(at);
