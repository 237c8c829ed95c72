-- The number of queued jobs, for MaxQueueSize, kept by triggers so that
-- a submit reads it instead of counting the queue: counting 20,000
-- queued jobs took about 20 ms of server time at every submit, growing
-- with the queue. Each server process adds to a row of its own (keyed by
-- its pid), so that no writer ever waits on another's count: with one
-- shared row, every claim would hold it until its commit, and a writer
-- holding it could deadlock with one holding a job it needs. A pid is
-- unique among live processes; a row outlives its process (a new process
-- with the pid goes on adding to it), and the leader folds the rows of
-- ended processes into row 0. The sum of the rows is the count, exact in
-- every transaction's view, as counting was.

CREATE TABLE queue_counts (
    pid    integer PRIMARY KEY,
    queued bigint  NOT NULL
);
INSERT INTO queue_counts (pid, queued) SELECT 0, count(*) FROM jobs WHERE state = 'queued';

-- count_queued adds what one statement on jobs changed: rows it made
-- queued less rows it took out of queued. It runs once per statement, on
-- the statement's transition tables, so that a COPY of thousands of jobs
-- or a claim of eight adds once.
CREATE FUNCTION count_queued() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d bigint := 0;
BEGIN
    IF TG_OP <> 'DELETE' THEN
        SELECT d + count(*) INTO d FROM new_rows WHERE state = 'queued';
    END IF;
    IF TG_OP <> 'INSERT' THEN
        SELECT d - count(*) INTO d FROM old_rows WHERE state = 'queued';
    END IF;
    IF d <> 0 THEN
        INSERT INTO queue_counts AS c (pid, queued) VALUES (pg_backend_pid(), d)
            ON CONFLICT (pid) DO UPDATE SET queued = c.queued + EXCLUDED.queued;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_queued();
CREATE TRIGGER jobs_count_update AFTER UPDATE ON jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_queued();
CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_queued();
