ALTER TABLE assessment_scores
    ADD COLUMN final_points numeric CHECK (final_points IS NULL OR final_points >= 0),
    ADD COLUMN final_index numeric;
UPDATE assessment_scores
   SET final_points = CASE WHEN finalised THEN reviewed_points END,
       final_index = CASE WHEN finalised THEN reviewed_index END;
