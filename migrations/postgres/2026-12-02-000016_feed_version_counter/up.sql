-- The calendar feed's version as one number per feed, moved on by the database itself in the same
-- transaction as every change the feed shows, so that a calendar asking "has it changed?"
-- (If-None-Match) is answered from one primary-key read (src/sip/feed.rs). Triggers rather than
-- code in each writer: a writer added later cannot forget it.
-- What a feed shows: the meetings its owner is invited to (invitees) and still takes part in
-- (participants), the meeting's columns the events are written from (not the reminder's mark:
-- a feed that changed with it would be fetched again for nothing), and whether the SIP's consent
-- covers them (consents, consent_organisations). The day is part of the ETag, so consents
-- starting or running out need no trigger.
-- Keep in step with migrations/sqlite/2026-12-02-000016_feed_version_counter/up.sql.
ALTER TABLE calendar_feeds ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- Moves on the feeds of everyone whose feed the changed row is part of: one function for every
-- table below, by the table's name.
CREATE FUNCTION feed_version_bump() RETURNS trigger AS $$
DECLARE
    changed RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
    IF TG_TABLE_NAME = 'meetings' THEN
        UPDATE calendar_feeds SET version = version + 1 WHERE user_id IN (
            SELECT p.user_id FROM invitees i JOIN participants p ON p.id = i.participant_id
            WHERE i.meeting_id = changed.id);
    ELSIF TG_TABLE_NAME = 'invitees' THEN
        UPDATE calendar_feeds SET version = version + 1
        WHERE user_id = (SELECT user_id FROM participants WHERE id = changed.participant_id);
    ELSIF TG_TABLE_NAME = 'participants' THEN
        UPDATE calendar_feeds SET version = version + 1 WHERE user_id = changed.user_id
            OR (TG_OP = 'UPDATE' AND user_id = OLD.user_id);
    ELSIF TG_TABLE_NAME = 'consents' THEN
        UPDATE calendar_feeds SET version = version + 1 WHERE user_id IN (
            SELECT user_id FROM participants WHERE sip_id = changed.sip_id
                OR (TG_OP = 'UPDATE' AND sip_id = OLD.sip_id));
    ELSIF TG_TABLE_NAME = 'consent_organisations' THEN
        UPDATE calendar_feeds SET version = version + 1 WHERE user_id IN (
            SELECT p.user_id FROM participants p JOIN consents c ON c.sip_id = p.sip_id
            WHERE c.id = changed.consent_id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER feed_version_meeting_changed
    AFTER UPDATE OF sequence, starts_at, minutes, place, video_url, updated_at, cancelled_at ON meetings
    FOR EACH ROW EXECUTE FUNCTION feed_version_bump();
CREATE TRIGGER feed_version_invitee_added AFTER INSERT OR DELETE ON invitees
    FOR EACH ROW EXECUTE FUNCTION feed_version_bump();
CREATE TRIGGER feed_version_invitee_removed AFTER UPDATE OF removed_at ON invitees
    FOR EACH ROW EXECUTE FUNCTION feed_version_bump();
CREATE TRIGGER feed_version_participant_changed
    AFTER UPDATE OF removed_at, user_id, organisation_id OR DELETE ON participants
    FOR EACH ROW EXECUTE FUNCTION feed_version_bump();
CREATE TRIGGER feed_version_consent_changed AFTER INSERT OR UPDATE OR DELETE ON consents
    FOR EACH ROW EXECUTE FUNCTION feed_version_bump();
CREATE TRIGGER feed_version_consent_organisation_changed
    AFTER INSERT OR DELETE ON consent_organisations
    FOR EACH ROW EXECUTE FUNCTION feed_version_bump();
