ALTER TABLE assessment_bases RESET (fillfactor);
ALTER TABLE assessment_scores RESET (fillfactor);
ALTER TABLE answers RESET (fillfactor);
