DROP TRIGGER IF EXISTS jobs_count_delete ON jobs;
DROP TRIGGER IF EXISTS jobs_count_update ON jobs;
DROP TRIGGER IF EXISTS jobs_count_insert ON jobs;
DROP FUNCTION IF EXISTS count_queued();
DROP TABLE IF EXISTS queue_counts;
