-- Units (đơn vị được đánh giá), ranking groups, lineage, users and login throttling.

CREATE TABLE ranking_groups (
    id          uuid PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9._-]{1,64}$'),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 500),
    unit_kind   text NOT NULL CHECK (unit_kind IN ('province', 'department', 'district', 'commune',
                                                   'party_body', 'fatherland_front', 'ministry', 'other')),
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE units (
    id          uuid PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9._-]{1,64}$'),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 500),
    -- lower-cased, diacritics removed (đ → d): what search matches against
    search_name text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('province', 'department', 'district', 'commune',
                                              'party_body', 'fatherland_front', 'ministry', 'other')),
    parent_id   uuid REFERENCES units (id) ON DELETE RESTRICT,
    tags        text[] NOT NULL DEFAULT '{}',
    active      boolean NOT NULL DEFAULT true,
    valid_from  date,
    valid_to    date,
    version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS NULL OR parent_id <> id),
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
);
CREATE INDEX units_parent_idx ON units (parent_id);
CREATE INDEX units_kind_idx ON units (kind);

CREATE TABLE ranking_group_members (
    group_id uuid NOT NULL REFERENCES ranking_groups (id) ON DELETE CASCADE,
    unit_id  uuid NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, unit_id)
);
CREATE INDEX ranking_group_members_unit_idx ON ranking_group_members (unit_id);

-- predecessor → successor (the 2025 mergers)
CREATE TABLE unit_lineage (
    predecessor_id uuid NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    successor_id   uuid NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    effective_date date,
    note           text,
    PRIMARY KEY (predecessor_id, successor_id),
    CHECK (predecessor_id <> successor_id)
);
CREATE INDEX unit_lineage_successor_idx ON unit_lineage (successor_id);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9._-]{3,64}$'),
    full_name     text NOT NULL CHECK (length(btrim(full_name)) BETWEEN 1 AND 200),
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'reviewer', 'viewer', 'unit_editor', 'unit_leader')),
    unit_id       uuid REFERENCES units (id) ON DELETE RESTRICT,
    active        boolean NOT NULL DEFAULT true,
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- unit roles belong to exactly one unit; provincial roles to none
    CHECK ((role IN ('unit_editor', 'unit_leader')) = (unit_id IS NOT NULL))
);
CREATE INDEX users_unit_idx ON users (unit_id);

-- Failed-login counters, in the database so that every API replica sees them.
CREATE TABLE login_throttle (
    key          text PRIMARY KEY,
    failures     integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_start timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz
);

-- Integration tokens for scripts and national platforms (stored as SHA-256 of the secret).
CREATE TABLE integration_tokens (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    token_hash  text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    scopes      text[] NOT NULL CHECK (cardinality(scopes) >= 1),
    period_id   uuid,
    created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz
);
