-- The inputs of answers and adjustments are kept as `json` (their text) instead of `jsonb`.
--
-- Scoring reads every input it scores: a recompute reads all 340,000 answers of a national
-- group. A `jsonb` value is sent to the client by printing its tree back to text (the binary
-- wire form of `jsonb` is that text behind a version byte), which was about half of what
-- PostgreSQL spent on that read; a `json` value is sent as it is stored. Nothing queries
-- inside the inputs in SQL, so the tree bought nothing.
--
-- What is stored is still normalised JSON: answers are written through `$n::jsonb` (checked,
-- duplicate keys resolved, printed by PostgreSQL), and the existing values are printed the
-- same way here. Statements that compare inputs compare them as `jsonb` (`json` has no
-- equality).
ALTER TABLE answers DROP CONSTRAINT answers_inputs_check;
ALTER TABLE answers ALTER COLUMN inputs TYPE json USING inputs::json;
ALTER TABLE answers ADD CONSTRAINT answers_inputs_check
    CHECK (inputs IS NULL OR json_typeof(inputs) = 'object');
ALTER TABLE adjustments ALTER COLUMN inputs TYPE json USING inputs::json;
