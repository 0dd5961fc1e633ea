ALTER TABLE period_groups DROP COLUMN bases_version;
