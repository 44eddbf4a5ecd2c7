DROP TABLE investigation_assignments;
