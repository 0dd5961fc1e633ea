-- Stored scores and rankings (computed in Rust by the scoring module, never in SQL),
-- and immutable publications.

-- per-assessment scores: totals (the root of the tree) in columns, and every node's numbers in
-- `nodes`, an array parallel to the set's nodes in tree order:
-- [self_points, reviewed_points, applicable_max, self_applicable_max, flags[]]
CREATE TABLE assessment_scores (
    assessment_id   uuid PRIMARY KEY REFERENCES assessments (id) ON DELETE CASCADE,
    nodes           jsonb NOT NULL CHECK (jsonb_typeof(nodes) = 'array'),
    max_points      numeric NOT NULL CHECK (max_points >= 0),
    applicable_max  numeric NOT NULL CHECK (applicable_max >= 0),
    self_points     numeric NOT NULL CHECK (self_points >= 0),
    reviewed_points numeric NOT NULL CHECK (reviewed_points >= 0),
    final_points    numeric CHECK (final_points IS NULL OR final_points >= 0),
    self_index      numeric,
    reviewed_index  numeric,
    final_index     numeric,
    finalised       boolean NOT NULL DEFAULT false,
    computed_at     timestamptz NOT NULL DEFAULT now()
);

-- competition rankings per period, group and scope (overall, a pillar, a main indicator)
CREATE TABLE rankings (
    period_id      uuid NOT NULL REFERENCES periods (id) ON DELETE CASCADE,
    group_id       uuid NOT NULL REFERENCES ranking_groups (id) ON DELETE RESTRICT,
    scope          text NOT NULL CHECK (scope IN ('overall', 'pillar', 'main')),
    scope_code     text NOT NULL DEFAULT '',
    unit_id        uuid NOT NULL REFERENCES units (id) ON DELETE RESTRICT,
    points         numeric NOT NULL,
    applicable_max numeric NOT NULL,
    index_value    numeric,
    rank           integer CHECK (rank IS NULL OR rank >= 1),
    tied           boolean NOT NULL DEFAULT false,
    PRIMARY KEY (period_id, group_id, scope, scope_code, unit_id),
    CHECK ((scope = 'overall') = (scope_code = ''))
);
-- read order: rank, then unit code (ties never change the shared rank)
CREATE INDEX rankings_order_idx ON rankings (period_id, group_id, scope, scope_code, rank);
CREATE INDEX rankings_unit_idx ON rankings (period_id, group_id, unit_id);

CREATE TABLE publications (
    id           uuid PRIMARY KEY,
    period_id    uuid NOT NULL REFERENCES periods (id) ON DELETE RESTRICT,
    group_id     uuid NOT NULL REFERENCES ranking_groups (id) ON DELETE RESTRICT,
    version      integer NOT NULL CHECK (version >= 1),
    visible_from timestamptz NOT NULL,
    checksum     text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    content      jsonb NOT NULL,
    changelog    text,
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (period_id, group_id, version),
    CHECK (version = 1 OR changelog IS NOT NULL)
);

-- publications are immutable snapshots
CREATE FUNCTION publications_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'publications are immutable; publish an errata version instead'
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER publications_no_update BEFORE UPDATE OR DELETE ON publications
    FOR EACH ROW EXECUTE FUNCTION publications_immutable();
