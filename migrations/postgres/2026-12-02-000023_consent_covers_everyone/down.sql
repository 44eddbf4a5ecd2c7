ALTER TABLE participants DROP COLUMN outside_organisation;
ALTER TABLE participants DROP COLUMN relation;
DROP TABLE consent_outside_organisations;
