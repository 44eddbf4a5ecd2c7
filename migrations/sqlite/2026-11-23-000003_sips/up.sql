-- SIP (samordnad individuell plan): the family's consent, the participants, the meetings with
-- their calendar identity, and each invitee's answer.
-- Keep in step with migrations/postgres/2026-11-23-000003_sips/up.sql.

-- How many days after consent the first SIP meeting must be held (a regional agreement).
ALTER TABLE municipalities ADD COLUMN sip_first_meeting_days INTEGER NOT NULL DEFAULT 14;

CREATE TABLE sips (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    child_name TEXT NOT NULL,
    child_personal_number TEXT,
    report_id TEXT REFERENCES reports(id),
    calling_organisation_id TEXT NOT NULL REFERENCES organisations(id),
    responsible_user_id TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX sips_municipality ON sips(municipality_id);

-- Consent from a guardian (or the child): which organisations, from when, until when.
CREATE TABLE consents (
    id TEXT PRIMARY KEY NOT NULL,
    sip_id TEXT NOT NULL REFERENCES sips(id),
    given_by TEXT NOT NULL,
    relation TEXT NOT NULL,
    given_on DATE NOT NULL,
    valid_until DATE,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP,
    withdrawn_by TEXT REFERENCES users(id)
);
CREATE INDEX consents_sip ON consents(sip_id);

CREATE TABLE consent_organisations (
    consent_id TEXT NOT NULL REFERENCES consents(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    PRIMARY KEY (consent_id, organisation_id)
);

-- A user of a partner organisation, or a person without an account (a guardian, an outside partner).
CREATE TABLE participants (
    id TEXT PRIMARY KEY NOT NULL,
    sip_id TEXT NOT NULL REFERENCES sips(id),
    user_id TEXT REFERENCES users(id),
    organisation_id TEXT REFERENCES organisations(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    required BOOLEAN NOT NULL,
    added_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP
);
CREATE INDEX participants_sip ON participants(sip_id);
CREATE INDEX participants_user ON participants(user_id);

-- A meeting and its calendar identity: the UID never changes; SEQUENCE goes up on every change.
CREATE TABLE meetings (
    id TEXT PRIMARY KEY NOT NULL,
    sip_id TEXT NOT NULL REFERENCES sips(id),
    uid TEXT NOT NULL UNIQUE,
    sequence INTEGER NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    minutes INTEGER NOT NULL,
    place TEXT NOT NULL,
    video_url TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP,
    reminder_sent_at TIMESTAMP
);
CREATE INDEX meetings_sip ON meetings(sip_id);
CREATE INDEX meetings_reminder ON meetings(starts_at);

-- Who is invited to a meeting and what they answered. The RSVP link's token is stored hashed.
CREATE TABLE invitees (
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    participant_id TEXT NOT NULL REFERENCES participants(id),
    status TEXT NOT NULL,
    status_changed_at TIMESTAMP,
    answered_sequence INTEGER NOT NULL,
    rsvp_token_hash TEXT NOT NULL UNIQUE,
    removed_at TIMESTAMP,
    PRIMARY KEY (meeting_id, participant_id)
);

-- Each person's private calendar feed address. Only a hash of its secret token is stored.
CREATE TABLE calendar_feeds (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

-- The plan, one version per save: earlier versions stay readable. Goals and measures are JSON.
CREATE TABLE plans (
    id TEXT PRIMARY KEY NOT NULL,
    sip_id TEXT NOT NULL REFERENCES sips(id),
    version INTEGER NOT NULL,
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    needs TEXT NOT NULL,
    goals TEXT NOT NULL,
    measures TEXT NOT NULL,
    lead_organisation_id TEXT NOT NULL REFERENCES organisations(id),
    follow_up_on DATE NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at TIMESTAMP NOT NULL,
    UNIQUE (sip_id, version)
);
