DROP TRIGGER feed_version_consent_organisation_changed ON consent_organisations;
DROP TRIGGER feed_version_consent_changed ON consents;
DROP TRIGGER feed_version_participant_changed ON participants;
DROP TRIGGER feed_version_invitee_removed ON invitees;
DROP TRIGGER feed_version_invitee_added ON invitees;
DROP TRIGGER feed_version_meeting_changed ON meetings;
DROP FUNCTION feed_version_bump();
ALTER TABLE calendar_feeds DROP COLUMN version;
