-- fold the follow rows into their score rows (the view of this migration reads them), then
-- the view and the table as the migration `score_follows` left them
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
DROP FUNCTION current_score_of(uuid, uuid, uuid);

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

ALTER TABLE score_follows
    DROP CONSTRAINT score_follows_check,
    ALTER COLUMN self_points SET NOT NULL,
    ALTER COLUMN self_index SET NOT NULL,
    ADD CONSTRAINT score_follows_check CHECK (cardinality(positions) >= 1 AND positions[1] = 1
        AND cardinality(self_points) = cardinality(assessment_ids)
        AND cardinality(reviewed_points) = cardinality(assessment_ids)
        AND cardinality(self_index) = cardinality(assessment_ids)
        AND cardinality(reviewed_index) = cardinality(assessment_ids)
        AND cardinality(scope_points) = cardinality(assessment_ids)
        AND cardinality(scope_index) = cardinality(assessment_ids)
        AND cardinality(overall_key) = cardinality(assessment_ids));
