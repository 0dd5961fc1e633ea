-- A follow row (migration `score_follows`) without what it repeated, about a third smaller:
-- writing it (and its WAL at commit) costs in proportion to its size, and at 3,400 units it was
-- ~810 KB, most of a write that moves a group best.
--
-- * The overall scope is no longer among `positions` and the per-unit scope arrays: its points
--   are the unit's `reviewed_points` and its rounded index the unit's `overall_key`, by
--   definition (`scoring::ranking::scope_value_at` at position 0; both normalised the same
--   way), and the view puts them back in front. `positions` may be empty (only the overall
--   scope moved).
-- * `self_points` and `self_index` are NULL (the whole array) when every unit's self numbers
--   are the reviewed ones, digit for digit: no unit has a reviewer's adjustment that the best
--   reaches, which is every unit while the units fill in their forms. The view reads the
--   reviewed arrays then. One flag for the whole array, not per unit: a NULL element already
--   means "no index".

-- what follow rows there are, folded into their score rows first (the old view reads them)
UPDATE assessment_scores s
   SET self_points = c.self_points, reviewed_points = c.reviewed_points,
       self_index = c.self_index, reviewed_index = c.reviewed_index,
       scope_points = c.scope_points, scope_index = c.scope_index, overall_key = c.overall_key
  FROM current_scores c
 WHERE c.assessment_id = s.assessment_id
   AND (c.self_points, c.reviewed_points, c.self_index, c.reviewed_index, c.scope_points,
        c.scope_index, c.overall_key)
       IS DISTINCT FROM (s.self_points, s.reviewed_points, s.self_index, s.reviewed_index,
        s.scope_points, s.scope_index, s.overall_key);
DELETE FROM score_follows;

ALTER TABLE score_follows
    DROP CONSTRAINT score_follows_check,
    ALTER COLUMN self_points DROP NOT NULL,
    ALTER COLUMN self_index DROP NOT NULL,
    ADD CONSTRAINT score_follows_check CHECK (
        NOT (1 = ANY (positions))
        AND (self_points IS NULL) = (self_index IS NULL)
        AND coalesce(cardinality(self_points), cardinality(assessment_ids))
            = cardinality(assessment_ids)
        AND cardinality(reviewed_points) = cardinality(assessment_ids)
        AND coalesce(cardinality(self_index), cardinality(assessment_ids))
            = cardinality(assessment_ids)
        AND cardinality(reviewed_index) = cardinality(assessment_ids)
        AND cardinality(scope_points) = cardinality(assessment_ids)
        AND cardinality(scope_index) = cardinality(assessment_ids)
        AND cardinality(overall_key) = cardinality(assessment_ids));

-- the same columns as before; the follow values are put back together in the subquery
CREATE OR REPLACE VIEW current_scores AS
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
    SELECT g.period_id, g.group_id, g.seq, ARRAY[1]::int4[] || g.positions AS positions, u.id,
           CASE WHEN g.self_points IS NULL THEN u.reviewed_points ELSE u.self_points END
               AS self_points,
           u.reviewed_points,
           CASE WHEN g.self_index IS NULL THEN u.reviewed_index ELSE u.self_index END
               AS self_index,
           u.reviewed_index,
           array_prepend(u.reviewed_points, u.scope_points::numeric[]) AS scope_points,
           array_prepend(u.overall_key, u.scope_index::numeric[]) AS scope_index,
           u.overall_key
    FROM score_follows g,
         unnest(g.assessment_ids, g.self_points, g.reviewed_points, g.self_index,
                g.reviewed_index, g.scope_points, g.scope_index, g.overall_key)
           AS u(id, self_points, reviewed_points, self_index, reviewed_index, scope_points,
                scope_index, overall_key)
) f ON f.period_id = s.period_id AND f.group_id = s.group_id AND f.id = s.assessment_id
   AND f.seq > s.follow_seq;

-- One unit's row of `current_scores`, read by position in its group's follow row instead of
-- by unnesting the whole row: the view unnests every unit's values (and parses their scope
-- arrays) to read one, ~10 ms at 3,400 units on a slow day; this finds the unit's position
-- and reads its elements. The same values as the view's row, which a test compares unit by
-- unit; keep the two together.
CREATE FUNCTION current_score_of(p uuid, g uuid, a uuid) RETURNS SETOF current_scores
LANGUAGE sql STABLE AS $$
SELECT s.assessment_id, s.period_id, s.group_id, s.unit_id, s.unit_code, s.max_points,
       s.applicable_max,
       CASE WHEN f.i IS NULL THEN s.self_points
            WHEN f.self_points IS NULL THEN f.reviewed_points[f.i]
            ELSE f.self_points[f.i] END,
       CASE WHEN f.i IS NULL THEN s.reviewed_points ELSE f.reviewed_points[f.i] END,
       CASE WHEN f.i IS NULL THEN s.self_index
            WHEN f.self_index IS NULL THEN f.reviewed_index[f.i]
            ELSE f.self_index[f.i] END,
       CASE WHEN f.i IS NULL THEN s.reviewed_index ELSE f.reviewed_index[f.i] END,
       s.finalised,
       CASE WHEN f.i IS NULL THEN s.scope_points
            ELSE score_patch(s.scope_points, ARRAY[1]::int4[] || f.positions,
                             array_prepend(f.reviewed_points[f.i],
                                           f.scope_points[f.i]::numeric[])) END,
       s.scope_max,
       CASE WHEN f.i IS NULL THEN s.scope_index
            ELSE score_patch(s.scope_index, ARRAY[1]::int4[] || f.positions,
                             array_prepend(f.overall_key[f.i],
                                           f.scope_index[f.i]::numeric[])) END,
       CASE WHEN f.i IS NULL THEN s.overall_key ELSE f.overall_key[f.i] END,
       s.ranked, s.computed_at, s.follow_seq
FROM assessment_scores s
LEFT JOIN LATERAL (
    SELECT x.positions, x.self_points, x.reviewed_points, x.self_index, x.reviewed_index,
           x.scope_points, x.scope_index, x.overall_key,
           array_position(x.assessment_ids, s.assessment_id) AS i
    FROM score_follows x
    WHERE x.period_id = s.period_id AND x.group_id = s.group_id AND x.seq > s.follow_seq
) f ON true
WHERE s.assessment_id = a AND s.period_id = p AND s.group_id = g
$$;
