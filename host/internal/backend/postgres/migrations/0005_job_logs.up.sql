-- Job logs on a shared queue: the host that runs an attempt ships its
-- log records here as they are written, so that every host reads the
-- same log, whichever host ran the job. A chunk is whole records (JSON
-- lines) placed at the byte offset where it starts in the job's log;
-- chunks go with their job.

CREATE TABLE job_logs (
    job_id    text   NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at_offset bigint NOT NULL,
    data      bytea  NOT NULL,
    PRIMARY KEY (job_id, at_offset)
);
