DROP TABLE investigations;
DROP TABLE report_guardians;
DROP TABLE report_children;
DROP TABLE report_decisions;
DROP TABLE safety_assessments;
DROP TABLE report_reporters;
DROP TABLE reports;
