DROP TABLE report_handovers;
