DROP TABLE job_inputs;
DROP TABLE jobs;
