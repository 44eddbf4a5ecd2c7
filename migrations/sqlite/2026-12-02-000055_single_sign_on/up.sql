-- Single sign-on with OpenID Connect (issue 20).
-- Keep in step with migrations/postgres/2026-12-02-000055_single_sign_on/up.sql.

-- An organisation's or municipality's identity provider, added by an operator with
-- `samordna idp add`. The client secret is never stored: only the name of the environment
-- variable that holds it. mfa_acr: the acr/amr values (space-separated) that mean the provider
-- checked a second factor; claim: which ID-token claim names the user (email, hsa_id, sub);
-- create_users: '' (never) or 'reporter'; email_domain: '' or the domain whose addresses the
-- login form sends to this provider.
CREATE TABLE identity_providers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    organisation_id TEXT REFERENCES organisations(id),
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_env TEXT NOT NULL,
    mfa_acr TEXT NOT NULL,
    claim TEXT NOT NULL,
    create_users TEXT NOT NULL,
    email_domain TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- A user's link to a person at a provider (issuer + subject), stored at the first match.
CREATE TABLE user_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    provider_id TEXT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

-- For providers that name people by an HSA-id or by sub: which value is which user, as the
-- operator links them (`samordna idp link`); matched at the first sign-in, then the link above.
CREATE TABLE provider_user_values (
    provider_id TEXT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
    claim_value TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (provider_id, claim_value)
);

-- Sign-ins sent to a provider and not yet back: by the hash of their state, with the PKCE
-- verifier and the nonce; used_at set when the answer came (a replayed state is refused).
CREATE TABLE sso_logins (
    state_hash TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);

-- Organisations whose users may sign in only through their identity provider.
CREATE TABLE sso_required (
    organisation_id TEXT PRIMARY KEY NOT NULL REFERENCES organisations(id)
);

-- How and when each user last signed in: provider_id NULL for a password.
CREATE TABLE last_sign_ins (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id),
    provider_id TEXT REFERENCES identity_providers(id) ON DELETE SET NULL,
    at TIMESTAMP NOT NULL
);

-- A session started through a provider: which one, and the provider's session id (sid).
ALTER TABLE sessions ADD COLUMN sso_provider_id TEXT;
ALTER TABLE sessions ADD COLUMN sso_sid TEXT;
