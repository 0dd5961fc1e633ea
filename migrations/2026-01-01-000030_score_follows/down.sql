-- fold what the follow rows hold into the score rows before they go
UPDATE assessment_scores s
   SET self_points = c.self_points, reviewed_points = c.reviewed_points,
       self_index = c.self_index, reviewed_index = c.reviewed_index,
       scope_points = c.scope_points, scope_index = c.scope_index, overall_key = c.overall_key
  FROM current_scores c
 WHERE c.assessment_id = s.assessment_id
   AND (c.self_points, c.reviewed_points, c.self_index, c.reviewed_index, c.scope_points,
        c.scope_index)
       IS DISTINCT FROM (s.self_points, s.reviewed_points, s.self_index, s.reviewed_index,
        s.scope_points, s.scope_index);
DROP VIEW current_rank_keys;
DROP VIEW current_scores;
DROP FUNCTION score_patch(numeric[], int4[], numeric[]);
DROP TABLE score_follows;
DROP FUNCTION stamp_followed_group();
ALTER TABLE assessment_scores DROP COLUMN follow_seq;
DROP SEQUENCE score_follow_seq;
