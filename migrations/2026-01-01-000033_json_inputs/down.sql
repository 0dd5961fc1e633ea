ALTER TABLE adjustments ALTER COLUMN inputs TYPE jsonb USING inputs::jsonb;
ALTER TABLE answers DROP CONSTRAINT answers_inputs_check;
ALTER TABLE answers ALTER COLUMN inputs TYPE jsonb USING inputs::jsonb;
ALTER TABLE answers ADD CONSTRAINT answers_inputs_check
    CHECK (inputs IS NULL OR jsonb_typeof(inputs) = 'object');
