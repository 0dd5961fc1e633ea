ALTER TABLE assessments DROP COLUMN unit_tags;
