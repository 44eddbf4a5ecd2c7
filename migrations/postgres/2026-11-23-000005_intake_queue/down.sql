DROP TABLE intake_queue;
