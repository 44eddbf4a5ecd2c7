DROP TABLE statistics_decisions;
DROP TABLE statistics_safety;
DROP TABLE statistics_received;
