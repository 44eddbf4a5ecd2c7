-- The calendar feed's version as one number per feed, moved on by the database itself in the same
-- transaction as every change the feed shows, so that a calendar asking "has it changed?"
-- (If-None-Match) is answered from one primary-key read (src/sip/feed.rs). Triggers rather than
-- code in each writer: a writer added later cannot forget it.
-- What a feed shows: the meetings its owner is invited to (invitees) and still takes part in
-- (participants), the meeting's columns the events are written from (not the reminder's mark:
-- a feed that changed with it would be fetched again for nothing), and whether the SIP's consent
-- covers them (consents, consent_organisations). The day is part of the ETag, so consents
-- starting or running out need no trigger.
-- Keep in step with migrations/postgres/2026-12-02-000016_feed_version_counter/up.sql.
ALTER TABLE calendar_feeds ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER feed_version_meeting_changed
    AFTER UPDATE OF sequence, starts_at, minutes, place, video_url, updated_at, cancelled_at ON meetings
BEGIN
    UPDATE calendar_feeds SET version = version + 1 WHERE user_id IN (
        SELECT p.user_id FROM invitees i JOIN participants p ON p.id = i.participant_id
        WHERE i.meeting_id = NEW.id);
END;

CREATE TRIGGER feed_version_invitee_added AFTER INSERT ON invitees
BEGIN
    UPDATE calendar_feeds SET version = version + 1
    WHERE user_id = (SELECT user_id FROM participants WHERE id = NEW.participant_id);
END;
CREATE TRIGGER feed_version_invitee_removed AFTER UPDATE OF removed_at ON invitees
BEGIN
    UPDATE calendar_feeds SET version = version + 1
    WHERE user_id = (SELECT user_id FROM participants WHERE id = NEW.participant_id);
END;
CREATE TRIGGER feed_version_invitee_deleted AFTER DELETE ON invitees
BEGIN
    UPDATE calendar_feeds SET version = version + 1
    WHERE user_id = (SELECT user_id FROM participants WHERE id = OLD.participant_id);
END;

CREATE TRIGGER feed_version_participant_changed
AFTER UPDATE OF removed_at, user_id, organisation_id ON participants
BEGIN
    UPDATE calendar_feeds SET version = version + 1 WHERE user_id IN (OLD.user_id, NEW.user_id);
END;
CREATE TRIGGER feed_version_participant_deleted AFTER DELETE ON participants
BEGIN
    UPDATE calendar_feeds SET version = version + 1 WHERE user_id = OLD.user_id;
END;

CREATE TRIGGER feed_version_consent_added AFTER INSERT ON consents
BEGIN
    UPDATE calendar_feeds SET version = version + 1
    WHERE user_id IN (SELECT user_id FROM participants WHERE sip_id = NEW.sip_id);
END;
CREATE TRIGGER feed_version_consent_changed AFTER UPDATE ON consents
BEGIN
    UPDATE calendar_feeds SET version = version + 1
    WHERE user_id IN (SELECT user_id FROM participants WHERE sip_id IN (OLD.sip_id, NEW.sip_id));
END;
CREATE TRIGGER feed_version_consent_deleted AFTER DELETE ON consents
BEGIN
    UPDATE calendar_feeds SET version = version + 1
    WHERE user_id IN (SELECT user_id FROM participants WHERE sip_id = OLD.sip_id);
END;

CREATE TRIGGER feed_version_consent_organisation_added AFTER INSERT ON consent_organisations
BEGIN
    UPDATE calendar_feeds SET version = version + 1 WHERE user_id IN (
        SELECT p.user_id FROM participants p JOIN consents c ON c.sip_id = p.sip_id
        WHERE c.id = NEW.consent_id);
END;
CREATE TRIGGER feed_version_consent_organisation_deleted AFTER DELETE ON consent_organisations
BEGIN
    UPDATE calendar_feeds SET version = version + 1 WHERE user_id IN (
        SELECT p.user_id FROM participants p JOIN consents c ON c.sip_id = p.sip_id
        WHERE c.id = OLD.consent_id);
END;
