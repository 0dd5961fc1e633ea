ALTER TABLE period_groups DROP COLUMN layout;
