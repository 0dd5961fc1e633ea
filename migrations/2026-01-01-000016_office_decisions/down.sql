ALTER TABLE assessment_scores DROP COLUMN ranked;

ALTER TABLE assessments
    DROP CONSTRAINT assessments_finalised_state_check,
    DROP CONSTRAINT assessments_exclusion_check,
    DROP CONSTRAINT assessments_on_behalf_check,
    DROP COLUMN excluded_at,
    DROP COLUMN excluded_by,
    DROP COLUMN excluded_reason,
    DROP COLUMN finalised_as,
    DROP COLUMN submission_reason,
    DROP COLUMN submitted_on_behalf,
    DROP COLUMN submitted_by,
    DROP COLUMN submitted_at;
