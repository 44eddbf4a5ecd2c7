DROP INDEX invitees_participant;
