DROP TRIGGER publications_no_update ON publications;
DROP FUNCTION publications_immutable();
DROP TABLE publications;
DROP TABLE rankings;
DROP TABLE assessment_scores;
