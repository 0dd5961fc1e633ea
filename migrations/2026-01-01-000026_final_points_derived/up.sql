-- "Final = reviewed once the assessment is finalised" had two homes: the Rust that wrote a
-- score row and the SQL that rewrote the rows a moved group best touches. The stored copies go;
-- the one rule is `scoring::final_value`, applied to the stored `finalised` flag and reviewed
-- numbers wherever a final value is shown.
ALTER TABLE assessment_scores DROP COLUMN final_points, DROP COLUMN final_index;
