DROP TABLE report_feedback;
