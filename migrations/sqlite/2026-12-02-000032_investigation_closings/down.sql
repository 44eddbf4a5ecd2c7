DROP TABLE investigation_closings;
