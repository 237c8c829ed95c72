-- Hosts sharing the queue: each host's registration, renewed by its
-- heartbeat, and the leader lease, one row that one host at a time
-- holds. Every time is the now of the host's call, never the server's
-- clock.

CREATE TABLE hosts (
    owner      text PRIMARY KEY,
    name       text NOT NULL,
    pid        integer NOT NULL,
    version    text NOT NULL,
    tasks      text[] NOT NULL,
    slots      integer NOT NULL,
    started_at timestamptz,
    seen_at    timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
-- Pruning registrations long expired.
CREATE INDEX hosts_expires ON hosts (expires_at);

-- The leader lease: at most one row (id is always true).
CREATE TABLE leader (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    owner      text NOT NULL,
    expires_at timestamptz NOT NULL
);
