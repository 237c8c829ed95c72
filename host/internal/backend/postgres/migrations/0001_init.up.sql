-- The first schema of the PostgreSQL backend: jobs with their
-- dependency edges, groups, schedules. Group counts are not stored: they
-- are counted from jobs_group (see groups), so that no completion has to
-- update a row every other completion of the group updates too.

CREATE SEQUENCE job_ready_seq;

CREATE TABLE jobs (
    id               text PRIMARY KEY,
    task             text NOT NULL,
    args             jsonb,
    priority         smallint NOT NULL,
    state            text NOT NULL,
    paused_from      text,
    group_id         text,
    group_pos        integer,
    key              text,
    labels           jsonb,
    schedule_id      text,
    max_attempts     integer NOT NULL,
    backoff          jsonb NOT NULL,
    timeout_ns       bigint NOT NULL,
    stall_timeout_ns bigint NOT NULL,
    run_at           timestamptz,
    attempt          integer NOT NULL,
    attempt_base     integer NOT NULL,
    cancel_requested boolean NOT NULL,
    owner            text,
    result           jsonb,
    error            jsonb,
    progress         jsonb,
    created_at       timestamptz NOT NULL,
    queued_at        timestamptz,
    started_at       timestamptz,
    finished_at      timestamptz,
    attempts         jsonb,
    -- ready_seq orders jobs made ready at one instant: the order the
    -- store made them ready in (a fresh value each time a job is queued).
    ready_seq        bigint NOT NULL DEFAULT 0,
    -- ready_at is when a queued job became ready: max(queued_at, run_at).
    ready_at         timestamptz GENERATED ALWAYS AS (greatest(queued_at, run_at)) STORED
);

-- The claim index: per task, in claim order, queued jobs only.
CREATE INDEX jobs_ready ON jobs (task, priority DESC, ready_at, ready_seq) WHERE state = 'queued';
-- Delayed jobs, for NextRunAt.
CREATE INDEX jobs_delayed ON jobs (run_at) WHERE state = 'queued' AND run_at IS NOT NULL;
-- Running attempts by owner, for rescue.
CREATE INDEX jobs_running ON jobs (owner) WHERE owner IS NOT NULL;
-- Group members in add order; group counts by state.
CREATE INDEX jobs_group ON jobs (group_id, group_pos) WHERE group_id IS NOT NULL;
CREATE INDEX jobs_group_state ON jobs (group_id, state) WHERE group_id IS NOT NULL;
-- Idempotency keys: one job per key.
CREATE UNIQUE INDEX jobs_key ON jobs (key) WHERE key IS NOT NULL;
-- Counts, and pruning oldest first.
CREATE INDEX jobs_state ON jobs (state, priority);
CREATE INDEX jobs_finished ON jobs (finished_at, id) WHERE finished_at IS NOT NULL;

-- deps holds every edge "job_id waits for dep_id", in the job's order.
-- An edge to a pruned job stays (its dependent still lists it); the
-- edges of a pruned job go with it.
CREATE TABLE deps (
    job_id text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    dep_id text NOT NULL,
    policy text NOT NULL,
    pos    integer NOT NULL,
    PRIMARY KEY (job_id, dep_id)
);
CREATE INDEX deps_dep ON deps (dep_id, job_id);

-- groups keeps what the members cannot say: size and last member (for
-- the next sequential member), what pruned members counted, and when the
-- group last became done (written only when it becomes done or is
-- reopened, not by every completion).
CREATE TABLE groups (
    id                 text PRIMARY KEY,
    name               text NOT NULL,
    sequential         boolean NOT NULL,
    cancel_on_failure  boolean NOT NULL,
    created_at         timestamptz NOT NULL,
    size               integer NOT NULL DEFAULT 0,
    last               text NOT NULL DEFAULT '',
    pruned_counts      jsonb NOT NULL DEFAULT '{}',
    pruned_finished_at timestamptz,
    finished_at        timestamptz
);

CREATE TABLE schedules (
    id  text PRIMARY KEY,
    doc jsonb NOT NULL
);
