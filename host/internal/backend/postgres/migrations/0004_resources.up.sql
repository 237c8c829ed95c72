-- What a job needs while it runs (model.Job.Resources): thousandths of a
-- CPU and MiB. 0 needs nothing, as every job stored before.

ALTER TABLE jobs ADD COLUMN milli_cpu bigint NOT NULL DEFAULT 0, ADD COLUMN memory_mb bigint NOT NULL DEFAULT 0;
