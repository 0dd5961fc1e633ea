ALTER TABLE assessment_bases DROP COLUMN stamp;
ALTER TABLE period_groups DROP COLUMN bases_version;
