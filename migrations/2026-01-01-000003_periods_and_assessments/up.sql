-- Assessment periods (kỳ đánh giá), assessments, answers, evidence, adjustments, clarifications.

CREATE TABLE periods (
    id           uuid PRIMARY KEY,
    code         text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9._-]{1,64}$'),
    name         text NOT NULL CHECK (length(btrim(name)) >= 1),
    data_year    integer NOT NULL CHECK (data_year BETWEEN 2000 AND 2100),
    phase        text NOT NULL DEFAULT 'draft'
                 CHECK (phase IN ('draft', 'self_assessment', 'review', 'published', 'archived')),
    lock_version integer NOT NULL DEFAULT 1 CHECK (lock_version >= 1),
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- the phase calendar: planned open/close times of each phase
CREATE TABLE period_phases (
    period_id uuid NOT NULL REFERENCES periods (id) ON DELETE CASCADE,
    phase     text NOT NULL CHECK (phase IN ('self_assessment', 'review', 'published', 'archived')),
    opens_at  timestamptz NOT NULL,
    closes_at timestamptz,
    PRIMARY KEY (period_id, phase),
    CHECK (closes_at IS NULL OR closes_at > opens_at)
);

-- the set version pinned for each ranking group of a period
CREATE TABLE period_groups (
    period_id uuid NOT NULL REFERENCES periods (id) ON DELETE CASCADE,
    group_id  uuid NOT NULL REFERENCES ranking_groups (id) ON DELETE RESTRICT,
    set_id    uuid NOT NULL REFERENCES indicator_sets (id) ON DELETE RESTRICT,
    PRIMARY KEY (period_id, group_id)
);
CREATE INDEX period_groups_set_idx ON period_groups (set_id);

CREATE TABLE assessments (
    id               uuid PRIMARY KEY,
    period_id        uuid NOT NULL REFERENCES periods (id) ON DELETE CASCADE,
    unit_id          uuid NOT NULL REFERENCES units (id) ON DELETE RESTRICT,
    group_id         uuid NOT NULL REFERENCES ranking_groups (id) ON DELETE RESTRICT,
    set_id           uuid NOT NULL REFERENCES indicator_sets (id) ON DELETE RESTRICT,
    state            text NOT NULL DEFAULT 'not_started'
                     CHECK (state IN ('not_started', 'in_progress', 'submitted', 'returned', 'finalised')),
    deadline         timestamptz,
    last_action      text,
    last_actor_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    last_action_at   timestamptz,
    last_reason      text,
    lock_version     integer NOT NULL DEFAULT 1 CHECK (lock_version >= 1),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (period_id, unit_id),
    FOREIGN KEY (period_id, group_id) REFERENCES period_groups (period_id, group_id) ON DELETE CASCADE
);
CREATE INDEX assessments_group_idx ON assessments (period_id, group_id);
CREATE INDEX assessments_unit_idx ON assessments (unit_id);

CREATE TABLE answers (
    id              uuid PRIMARY KEY,
    assessment_id   uuid NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    node_id         uuid NOT NULL REFERENCES indicator_nodes (id) ON DELETE RESTRICT,
    inputs          jsonb,
    not_applicable  boolean NOT NULL DEFAULT false,
    note            text CHECK (note IS NULL OR length(note) <= 10000),
    explanation     text CHECK (explanation IS NULL OR length(explanation) <= 10000),
    lock_version    integer NOT NULL DEFAULT 1 CHECK (lock_version >= 1),
    updated_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (assessment_id, node_id),
    CHECK (inputs IS NULL OR jsonb_typeof(inputs) = 'object')
);

-- stored file contents, once per SHA-256 (identical content stored once)
CREATE TABLE evidence_blobs (
    sha256       text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    content_type text NOT NULL,
    storage_key  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE evidence (
    id              uuid PRIMARY KEY,
    answer_id       uuid NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('file', 'url', 'document')),
    blob_sha256     text REFERENCES evidence_blobs (sha256) ON DELETE RESTRICT,
    filename        text,
    url             text,
    doc_number      text,
    doc_date        date,
    doc_issuer      text,
    description     text,
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'file') = (blob_sha256 IS NOT NULL AND filename IS NOT NULL)),
    CHECK ((kind = 'url') = (url IS NOT NULL)),
    CHECK (kind <> 'document' OR doc_number IS NOT NULL)
);
CREATE INDEX evidence_answer_idx ON evidence (answer_id);
CREATE INDEX evidence_blob_idx ON evidence (blob_sha256);

-- a reviewer's adjustment of one component; the self answer is never overwritten
CREATE TABLE adjustments (
    id             uuid PRIMARY KEY,
    assessment_id  uuid NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    node_id        uuid NOT NULL REFERENCES indicator_nodes (id) ON DELETE RESTRICT,
    inputs         jsonb,
    points         numeric CHECK (points IS NULL OR points >= 0),
    not_applicable boolean,
    reason         text NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 10000),
    reviewer_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    lock_version   integer NOT NULL DEFAULT 1 CHECK (lock_version >= 1),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (assessment_id, node_id),
    CHECK (inputs IS NOT NULL OR points IS NOT NULL OR not_applicable IS NOT NULL)
);

CREATE TABLE clarifications (
    id            uuid PRIMARY KEY,
    assessment_id uuid NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    node_id       uuid NOT NULL REFERENCES indicator_nodes (id) ON DELETE RESTRICT,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
    opened_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clarifications_assessment_idx ON clarifications (assessment_id);

CREATE TABLE clarification_messages (
    id               uuid PRIMARY KEY,
    clarification_id uuid NOT NULL REFERENCES clarifications (id) ON DELETE CASCADE,
    author_id        uuid REFERENCES users (id) ON DELETE SET NULL,
    body             text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 10000),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clarification_messages_thread_idx ON clarification_messages (clarification_id);

-- replay protection for bulk and import calls
CREATE TABLE idempotency_keys (
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    request_hash    text NOT NULL,
    response_status integer NOT NULL,
    response_body   jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

ALTER TABLE integration_tokens
    ADD CONSTRAINT integration_tokens_period_fk FOREIGN KEY (period_id) REFERENCES periods (id) ON DELETE CASCADE;
