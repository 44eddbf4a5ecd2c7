DROP TABLE plans;
DROP TABLE calendar_feeds;
DROP TABLE invitees;
DROP TABLE meetings;
DROP TABLE participants;
DROP TABLE consent_organisations;
DROP TABLE consents;
DROP TABLE sips;
ALTER TABLE municipalities DROP COLUMN sip_first_meeting_days;
