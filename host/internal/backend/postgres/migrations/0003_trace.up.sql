-- The W3C trace context (traceparent and tracestate headers) of the span
-- that created a job, so that its attempts' spans join that trace. NULL
-- when the job was created without one (tracing off).

ALTER TABLE jobs ADD COLUMN traceparent text, ADD COLUMN tracestate text;
