DROP INDEX plans_follow_up;
DROP INDEX investigation_closings_closed_at;
DROP INDEX reports_statistics;
