-- Webhook notifications (Standard Webhooks): receivers registered by the administrator, the
-- outbox of events written in the transaction of the change they describe, one delivery per
-- (event, receiver) with its attempts, and the marks of the deadline scan.

-- A receiver. `secret` (whsec_ + base64 of 32 random bytes) signs every delivery; it is shown
-- once, on creation and on rotation. After a rotation the previous secret signs too (a second
-- signature in the header) until `previous_secret_expires_at`.
CREATE TABLE webhook_endpoints (
    id                         uuid PRIMARY KEY,
    url                        text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    description                text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    -- event types delivered to it; empty = every type
    event_types                text[] NOT NULL DEFAULT '{}',
    secret                     text NOT NULL CHECK (secret LIKE 'whsec\_%'),
    previous_secret            text CHECK (previous_secret IS NULL OR previous_secret LIKE 'whsec\_%'),
    previous_secret_expires_at timestamptz,
    enabled                    boolean NOT NULL DEFAULT true,
    -- since when it is enabled: it gets the events that happen from then on
    enabled_at                 timestamptz NOT NULL DEFAULT now(),
    disabled_at                timestamptz,
    disabled_reason            text,
    -- deliveries whose every attempt failed, since the last successful attempt
    consecutive_failures       integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    -- first failed attempt since the last successful one
    failing_since              timestamptz,
    version                    integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_by                 uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL))
);

-- The outbox: one row per event, written in the transaction of the change (a rolled-back
-- change leaves none). `body` is the exact JSON text that is signed and sent. The worker fans
-- each event out to the receivers enabled since before it happened and sets `dispatched_at`.
CREATE TABLE webhook_events (
    id            uuid PRIMARY KEY,
    event_type    text NOT NULL,
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    body          text NOT NULL,
    dispatched_at timestamptz
);
CREATE INDEX webhook_events_undispatched ON webhook_events (occurred_at) WHERE dispatched_at IS NULL;

-- One event to one receiver: `pending` until an attempt succeeds (`succeeded`) or the retry
-- schedule is exhausted (`failed`). A manual redelivery is a new row (`redelivery_of`).
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- when the next attempt is due (pending only); a claimed attempt pushes it past its timeout
    next_attempt_at timestamptz,
    last_attempt_at timestamptz,
    redelivery_of   uuid REFERENCES webhook_deliveries (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- The log of every attempt: the receiver's status and the start of its body, or the error.
CREATE TABLE webhook_attempts (
    delivery_id     uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt         integer NOT NULL CHECK (attempt >= 1),
    attempted_at    timestamptz NOT NULL,
    duration_ms     integer NOT NULL CHECK (duration_ms >= 0),
    response_status integer,
    response_body   text CHECK (response_body IS NULL OR length(response_body) <= 1024),
    error           text CHECK (error IS NULL OR length(error) <= 1024),
    succeeded       boolean NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- Deadline notices already written (7 days before, 1 day before, passed), one per assessment
-- and deadline: replicas and restarts never write one twice, and a moved deadline gets its own.
CREATE TABLE deadline_notices (
    assessment_id uuid NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    notice        text NOT NULL CHECK (notice IN ('7d', '1d', 'passed')),
    deadline      timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (assessment_id, notice, deadline)
);
