DROP TABLE busy_times;
DROP TABLE busy_sources;
DROP TABLE working_hours;
