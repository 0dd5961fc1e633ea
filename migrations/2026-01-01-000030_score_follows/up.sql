-- What a moved group best changes, written once per group instead of once per unit.
--
-- A `relative_to_best` leaf scores every unit against the group's best value, so a write that
-- moves the best changes every following unit's totals and the scopes above that leaf. Those
-- used to be rewritten in every unit's score row: at 3,400 units, one `UPDATE` of 3,400 rows of
-- ~850 bytes was most of the write (22-34 ms of ~55). A moved best now writes one row of
-- `score_follows` for the group instead: for each unit it re-evaluated, its totals and the
-- values of the moved scopes (`positions`, 1-based in the set's scope list; the overall scope
-- is always first): at 3,400 units, one row of ~860 KB (stored out of line) instead of 3,400.
--
-- Readers see the score rows through the view `current_scores`: a row takes the group's
-- follow values for it when they were written after the row (`seq` > the row's `follow_seq`;
-- both are drawn from one sequence, and writes to a group are serialised by its lock). A
-- later write of the unit's own row draws a newer `follow_seq`, so its row wins again; a
-- rescore of the whole group deletes the follow row first and writes every row that differs.
-- `assessment_scores` alone is therefore not what a reader sees: read `current_scores`.
CREATE SEQUENCE score_follow_seq;

ALTER TABLE assessment_scores ADD COLUMN follow_seq bigint NOT NULL DEFAULT 0;

CREATE TABLE score_follows (
    period_id       uuid NOT NULL,
    group_id        uuid NOT NULL,
    seq             bigint NOT NULL,
    positions       int4[] NOT NULL,
    assessment_ids  uuid[] NOT NULL,
    self_points     numeric[] NOT NULL,
    reviewed_points numeric[] NOT NULL,
    self_index      numeric[] NOT NULL,
    reviewed_index  numeric[] NOT NULL,
    -- per unit, a numeric array literal of the moved scopes' points and indices, in the order
    -- of `positions` (text, so that one array holds one array per unit)
    scope_points    text[] NOT NULL,
    scope_index     text[] NOT NULL,
    -- each unit's overall rounded index (its first moved scope's) again as a plain array: the
    -- group's rank keys are read from these two arrays alone
    overall_key     numeric[] NOT NULL,
    PRIMARY KEY (period_id, group_id),
    FOREIGN KEY (period_id, group_id) REFERENCES period_groups ON DELETE CASCADE,
    CHECK (cardinality(positions) >= 1 AND positions[1] = 1
        AND cardinality(self_points) = cardinality(assessment_ids)
        AND cardinality(reviewed_points) = cardinality(assessment_ids)
        AND cardinality(self_index) = cardinality(assessment_ids)
        AND cardinality(reviewed_index) = cardinality(assessment_ids)
        AND cardinality(scope_points) = cardinality(assessment_ids)
        AND cardinality(scope_index) = cardinality(assessment_ids)
        AND cardinality(overall_key) = cardinality(assessment_ids))
);

-- A follow row is mostly numbers of full precision, which barely compress: stored out of line
-- without compression, writing one at 3,400 units took 10-14 ms instead of 35-45 (pglz's
-- attempt was most of it), and reading it back needs no decompression.
ALTER TABLE score_follows
    ALTER COLUMN assessment_ids SET STORAGE EXTERNAL,
    ALTER COLUMN self_points SET STORAGE EXTERNAL,
    ALTER COLUMN reviewed_points SET STORAGE EXTERNAL,
    ALTER COLUMN self_index SET STORAGE EXTERNAL,
    ALTER COLUMN reviewed_index SET STORAGE EXTERNAL,
    ALTER COLUMN scope_points SET STORAGE EXTERNAL,
    ALTER COLUMN scope_index SET STORAGE EXTERNAL,
    ALTER COLUMN overall_key SET STORAGE EXTERNAL;

-- A follow row changes what the group's score rows read as: it draws a new score stamp too
-- (migration `ranks_and_best`). A statement writes one follow row, so a row trigger does: the
-- statement triggers of `assessment_scores` would copy the whole row into a transition table
-- first (~3 ms at 3,400 units).
CREATE FUNCTION stamp_followed_group() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r score_follows;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    UPDATE period_groups SET scores_version = gen_random_uuid()
     WHERE period_id = r.period_id AND group_id = r.group_id;
    RETURN NULL;
END $$;

CREATE TRIGGER score_follows_stamp AFTER INSERT OR UPDATE OR DELETE ON score_follows
    FOR EACH ROW EXECUTE FUNCTION stamp_followed_group();

-- `base` with its elements at `positions` replaced by `vals` (in order)
CREATE FUNCTION score_patch(base numeric[], positions int4[], vals numeric[])
RETURNS numeric[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    r numeric[] := base;
BEGIN
    FOR k IN 1 .. cardinality(positions) LOOP
        r[positions[k]] := vals[k];
    END LOOP;
    RETURN r;
END $$;

-- The score rows as every reader sees them. Filtered on `period_id` and `group_id`, only that
-- group's follow row is read (the planner carries the filter across the join).
CREATE VIEW current_scores AS
SELECT s.assessment_id, s.period_id, s.group_id, s.unit_id, s.unit_code, s.max_points,
       s.applicable_max,
       CASE WHEN f.id IS NULL THEN s.self_points ELSE f.self_points END AS self_points,
       CASE WHEN f.id IS NULL THEN s.reviewed_points ELSE f.reviewed_points END
           AS reviewed_points,
       CASE WHEN f.id IS NULL THEN s.self_index ELSE f.self_index END AS self_index,
       CASE WHEN f.id IS NULL THEN s.reviewed_index ELSE f.reviewed_index END AS reviewed_index,
       s.finalised,
       CASE WHEN f.id IS NULL THEN s.scope_points
            ELSE score_patch(s.scope_points, f.positions, f.scope_points) END AS scope_points,
       s.scope_max,
       CASE WHEN f.id IS NULL THEN s.scope_index
            ELSE score_patch(s.scope_index, f.positions, f.scope_index) END AS scope_index,
       CASE WHEN f.id IS NULL THEN s.overall_key ELSE f.overall_key END AS overall_key,
       s.ranked, s.computed_at, s.follow_seq
FROM assessment_scores s
LEFT JOIN (
    SELECT g.period_id, g.group_id, g.seq, g.positions, u.id, u.self_points,
           u.reviewed_points, u.self_index, u.reviewed_index,
           u.scope_points::numeric[] AS scope_points, u.scope_index::numeric[] AS scope_index,
           u.overall_key
    FROM score_follows g,
         unnest(g.assessment_ids, g.self_points, g.reviewed_points, g.self_index,
                g.reviewed_index, g.scope_points, g.scope_index, g.overall_key)
           AS u(id, self_points, reviewed_points, self_index, reviewed_index, scope_points,
                scope_index, overall_key)
) f ON f.period_id = s.period_id AND f.group_id = s.group_id AND f.id = s.assessment_id
   AND f.seq > s.follow_seq;

-- The overall rank keys of `current_scores` (what `services::ranks` keeps in memory), read
-- from two of the follow row's arrays instead of all of them: at 3,400 units, loading a
-- group's keys costs about what it did before follow rows.
CREATE VIEW current_rank_keys AS
SELECT s.assessment_id, s.period_id, s.group_id, s.ranked,
       CASE WHEN f.id IS NULL THEN s.overall_key ELSE f.overall_key END AS overall_key
FROM assessment_scores s
LEFT JOIN (
    SELECT g.period_id, g.group_id, g.seq, u.id, u.overall_key
    FROM score_follows g, unnest(g.assessment_ids, g.overall_key) AS u(id, overall_key)
) f ON f.period_id = s.period_id AND f.group_id = s.group_id AND f.id = s.assessment_id
   AND f.seq > s.follow_seq;
