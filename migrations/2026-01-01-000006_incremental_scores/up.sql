-- Scores in a layout a write can keep current in O(1) rows (SPEC §7: p99 ≤ 20 ms per answer
-- write, ≤ 100 ms when a relative_to_best maximum moves, full recompute ≤ 2 s).
--
-- * One row per assessment holds the totals AND every ranking scope's values (overall, each
--   pillar, each main indicator, in the order of the pinned set: see
--   `services::scoring::scopes`). A write rewrites one row; a moved group best rewrites one row
--   per unit, not one per unit and scope.
-- * Ranks are not stored: they are `RANK()` over the stored, rounded indices of one scope at read
--   time, which is competition ranking by definition ("1, 2, 2, 4"), so a write never shifts
--   other units' rows and no reader can see a stale rank.
-- * The per-node breakdown is not stored: `GET …/score` recomputes one unit from its inputs and
--   the stored group best, with the same pure function.
-- * `assessment_bases` freezes what a unit's totals owe to everything except the group best of
--   its relative_to_best leaves, so a moved best re-evaluates a handful of nodes per unit (kept
--   apart so that score rows stay narrow for the rank counts and rewrites).
-- * `relative_values` holds each unit's candidate values for the group best, so the best is an
--   indexed aggregate instead of a scan of every answer.
--
-- Existing score rows are dropped here and rebuilt from inputs after migrating (the server
-- rescores every assessment without a score row at start-up).

DROP TABLE rankings;
DELETE FROM assessment_scores;

ALTER TABLE assessment_scores
    DROP COLUMN nodes,
    ADD COLUMN period_id    uuid NOT NULL REFERENCES periods (id) ON DELETE CASCADE,
    ADD COLUMN group_id     uuid NOT NULL REFERENCES ranking_groups (id) ON DELETE RESTRICT,
    ADD COLUMN unit_id      uuid NOT NULL REFERENCES units (id) ON DELETE RESTRICT,
    ADD COLUMN unit_code    text NOT NULL,
    ADD COLUMN scope_points numeric[] NOT NULL,
    ADD COLUMN scope_max    numeric[] NOT NULL,
    ADD COLUMN scope_index  numeric[] NOT NULL,
    -- scope_index[1] (overall) again as a plain column: one unit's rank is a count over the
    -- group, and comparing a plain column is several times cheaper than subscripting arrays
    ADD COLUMN overall_key  numeric,
    ADD CONSTRAINT assessment_scores_scopes_check CHECK (
        cardinality(scope_points) >= 1
        AND cardinality(scope_max) = cardinality(scope_points)
        AND cardinality(scope_index) = cardinality(scope_points)
        AND overall_key IS NOT DISTINCT FROM scope_index[1]);
-- leave room on each page so rewrites stay heap-only (no index churn)
ALTER TABLE assessment_scores SET (fillfactor = 70);
CREATE INDEX assessment_scores_group_idx ON assessment_scores (period_id, group_id);

CREATE TABLE relative_values (
    assessment_id  uuid NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    node_id        uuid NOT NULL REFERENCES indicator_nodes (id) ON DELETE RESTRICT,
    period_id      uuid NOT NULL REFERENCES periods (id) ON DELETE CASCADE,
    group_id       uuid NOT NULL REFERENCES ranking_groups (id) ON DELETE RESTRICT,
    self_value     numeric,
    reviewed_value numeric,
    PRIMARY KEY (assessment_id, node_id),
    CHECK (self_value IS NOT NULL OR reviewed_value IS NOT NULL)
);
CREATE INDEX relative_values_group_idx ON relative_values (period_id, group_id, node_id);

CREATE TABLE assessment_bases (
    assessment_id uuid PRIMARY KEY REFERENCES assessments (id) ON DELETE CASCADE,
    period_id     uuid NOT NULL REFERENCES periods (id) ON DELETE CASCADE,
    group_id      uuid NOT NULL REFERENCES ranking_groups (id) ON DELETE RESTRICT,
    -- serde JSON text of `services::scoring::StoredBasis` (text, not jsonb: it is only ever
    -- read whole, by the server, 3,400 at a time when a best moves)
    basis         text NOT NULL
);
CREATE INDEX assessment_bases_group_idx ON assessment_bases (period_id, group_id);
