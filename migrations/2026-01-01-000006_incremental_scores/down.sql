-- Back to the layout of migration 4. Scores and rankings cannot be derived in SQL: they are
-- emptied here; run `POST /api/v1/periods/{id}/recompute` with the older release to rebuild.
DROP TABLE assessment_bases;
DROP TABLE relative_values;
DELETE FROM assessment_scores;
DROP INDEX assessment_scores_group_idx;
ALTER TABLE assessment_scores RESET (fillfactor);
ALTER TABLE assessment_scores
    DROP CONSTRAINT assessment_scores_scopes_check,
    DROP COLUMN overall_key,
    DROP COLUMN scope_index,
    DROP COLUMN scope_max,
    DROP COLUMN scope_points,
    DROP COLUMN unit_code,
    DROP COLUMN unit_id,
    DROP COLUMN group_id,
    DROP COLUMN period_id,
    ADD COLUMN nodes jsonb NOT NULL CHECK (jsonb_typeof(nodes) = 'array');

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
CREATE INDEX rankings_order_idx ON rankings (period_id, group_id, scope, scope_code, rank);
CREATE INDEX rankings_unit_idx ON rankings (period_id, group_id, unit_id);
