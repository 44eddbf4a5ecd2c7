-- A person's invitations, found from their participant rows: the calendar feed's version
-- (src/sip/feed.rs, feed_version) and its events are read through this index instead of a scan
-- of every invitation.
-- Keep in step with migrations/sqlite/2026-12-01-000015_feed_version/up.sql.
CREATE INDEX invitees_participant ON invitees(participant_id);
