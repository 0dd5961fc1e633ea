-- Indicator sets (bộ chỉ số): versioned documents, flattened into nodes and pillars.

CREATE TABLE indicator_sets (
    id               uuid PRIMARY KEY,
    code             text NOT NULL CHECK (code ~ '^[A-Za-z0-9._-]{1,64}$'),
    version          integer NOT NULL CHECK (version >= 1),
    name             text NOT NULL CHECK (length(btrim(name)) >= 1),
    target_unit_kind text NOT NULL CHECK (target_unit_kind IN ('province', 'department', 'district', 'commune',
                                                               'party_body', 'fatherland_front', 'ministry', 'other')),
    status           text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'retired')),
    year             integer CHECK (year BETWEEN 2000 AND 2100),
    decision_number  text NOT NULL,
    decision_date    date,
    issuer           text NOT NULL,
    scale            numeric NOT NULL CHECK (scale > 0),
    precision        integer NOT NULL DEFAULT 4 CHECK (precision BETWEEN 0 AND 8),
    -- canonical (nested) document, and the document exactly as it was imported
    document         jsonb NOT NULL,
    source_document  text NOT NULL,
    source_format    text NOT NULL CHECK (source_format IN ('json', 'yaml')),
    based_on_id      uuid REFERENCES indicator_sets (id) ON DELETE RESTRICT,
    created_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    activated_at     timestamptz,
    lock_version     integer NOT NULL DEFAULT 1 CHECK (lock_version >= 1),
    UNIQUE (code, version),
    CHECK ((status = 'draft') = (activated_at IS NULL))
);

CREATE TABLE indicator_nodes (
    id              uuid PRIMARY KEY,
    set_id          uuid NOT NULL REFERENCES indicator_sets (id) ON DELETE CASCADE,
    code            text NOT NULL,
    parent_id       uuid REFERENCES indicator_nodes (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('group', 'main', 'component', 'criterion', 'bonus', 'penalty')),
    name            text NOT NULL,
    position        integer NOT NULL CHECK (position >= 0),
    depth           integer NOT NULL CHECK (depth >= 0),
    max_points      numeric NOT NULL CHECK (max_points >= 0),
    method          text,
    method_params   jsonb,
    evidence        text NOT NULL DEFAULT 'none' CHECK (evidence IN ('none', 'optional', 'required')),
    automatic       boolean NOT NULL DEFAULT false,
    is_leaf         boolean NOT NULL,
    replaces        text[] NOT NULL DEFAULT '{}',
    UNIQUE (set_id, code),
    UNIQUE (set_id, position),
    CHECK (method IS NULL OR method IN ('ratio', 'ratio_to_target', 'tiers', 'boolean', 'choice',
                                        'capped_sum', 'relative_to_best', 'survey', 'manual'))
);
CREATE INDEX indicator_nodes_parent_idx ON indicator_nodes (parent_id);

CREATE TABLE indicator_pillars (
    id        uuid PRIMARY KEY,
    set_id    uuid NOT NULL REFERENCES indicator_sets (id) ON DELETE CASCADE,
    code      text NOT NULL,
    name      text NOT NULL,
    position  integer NOT NULL,
    UNIQUE (set_id, code)
);

CREATE TABLE indicator_pillar_members (
    pillar_id uuid NOT NULL REFERENCES indicator_pillars (id) ON DELETE CASCADE,
    node_id   uuid NOT NULL REFERENCES indicator_nodes (id) ON DELETE CASCADE,
    PRIMARY KEY (pillar_id, node_id)
);
