-- Consent limits every participant (issue 18 §5): an outside organisation can be added to a
-- consent by name, and a participant without an account says what the consent covers them as:
-- a member of the family (relation), an organisation from the list (organisation_id, which
-- already exists) or an outside organisation the consent names (outside_organisation).
-- Participants without an account added before this have none of these: no consent covers them
-- until they are added again, so they are not invited to new meetings.
-- Keep in step with migrations/postgres/2026-12-02-000023_consent_covers_everyone/up.sql.

CREATE TABLE consent_outside_organisations (
    consent_id TEXT NOT NULL REFERENCES consents(id),
    name TEXT NOT NULL,
    PRIMARY KEY (consent_id, name)
);

ALTER TABLE participants ADD COLUMN relation TEXT;
ALTER TABLE participants ADD COLUMN outside_organisation TEXT;
