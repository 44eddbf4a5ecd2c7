-- Finding a time: each user's working hours and busy times read from their own calendars.
-- Keep in step with migrations/sqlite/2026-11-23-000004_busy_times/up.sql.

-- Working hours in Swedish local time; no row means Monday to Friday, 08:00-16:30.
CREATE TABLE working_hours (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id),
    -- Bit 0 is Monday ... bit 6 Sunday.
    days INTEGER NOT NULL,
    start_minute INTEGER NOT NULL,
    end_minute INTEGER NOT NULL
);

-- Where a user's busy times come from: the secret address of their calendar (read on a schedule)
-- or an uploaded file (read once). Nothing of a calendar's content is kept, only busy_times.
CREATE TABLE busy_sources (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    -- 'url' or 'file'.
    kind TEXT NOT NULL,
    -- The secret address: a credential, never shown in full nor logged.
    url TEXT,
    -- What the user sees: the address's host, or that it was a file.
    label TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    created_at TIMESTAMP NOT NULL,
    -- The last attempt; also how one instance claims a fetch.
    checked_at TIMESTAMP,
    -- The last good read.
    fetched_at TIMESTAMP,
    -- Why the last attempt failed (Swedish, for the user); NULL when it worked.
    error TEXT
);
CREATE INDEX busy_sources_user ON busy_sources(user_id);

-- Busy intervals (UTC), merged: not even the boundaries of back-to-back events are kept.
CREATE TABLE busy_times (
    source_id TEXT NOT NULL REFERENCES busy_sources(id) ON DELETE CASCADE,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source_id, starts_at)
);
