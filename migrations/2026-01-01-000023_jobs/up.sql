-- Background jobs (today: answers imports too large to answer synchronously). Jobs live in the
-- database so that any replica can run one and any replica can answer for it. A worker claims a
-- queued job with FOR UPDATE SKIP LOCKED, marks it running with a lease it renews while it
-- works (`heartbeat_at`, `lease_until`); a job whose lease runs out (its process died) is
-- marked failed by the next sweep, never left running.
CREATE TABLE jobs (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('answers_import')),
    period_id        uuid REFERENCES periods (id) ON DELETE CASCADE,
    -- an account, or an integration token (`requester_kind`)
    requested_by     uuid NOT NULL,
    requester_kind   text NOT NULL CHECK (requester_kind IN ('user', 'token')),
    state            text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    -- what a running job is doing (reading, checking, writing, rescoring)
    phase            text,
    rows_done        bigint NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
    rows_total       bigint CHECK (rows_total IS NULL OR rows_total >= 0),
    -- the request's parameters (dry run, mode, decimal separator, language)
    options          jsonb NOT NULL DEFAULT '{}',
    input_format     text NOT NULL,
    input_bytes      bigint NOT NULL CHECK (input_bytes >= 0),
    -- the response body the synchronous call would have given
    result           jsonb,
    -- a failed job's problem (application/problem+json body)
    problem          jsonb,
    cancel_requested boolean NOT NULL DEFAULT false,
    -- the process running it (random per process), its last sign of life and its lease
    worker           text,
    heartbeat_at     timestamptz,
    lease_until      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    CHECK ((state = 'running') = (lease_until IS NOT NULL)),
    CHECK ((state IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL))
);
CREATE INDEX jobs_queued ON jobs (created_at) WHERE state = 'queued';
CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_requester ON jobs (requested_by, created_at DESC);

-- The uploaded file of a job, in chunks of at most 1 MiB (written and read one chunk at a
-- time), kept until the job ends.
CREATE TABLE job_inputs (
    job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq    integer NOT NULL CHECK (seq >= 0),
    chunk  bytea NOT NULL,
    PRIMARY KEY (job_id, seq)
);
