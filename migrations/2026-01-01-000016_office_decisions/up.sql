-- What a provincial office decides for the units that are late or silent, so that no single
-- unit can hold a period's publication hostage.
--
-- * Submissions remember who made them and whether the office made one on the unit's behalf,
--   with its mandatory reason (the unit sees both). A later submission by the unit's leader
--   overwrites them; a return keeps them, so a returned form still shows how it was sent in.
-- * A finalised assessment says how it was finalised: `reviewed` (submitted, then finalised
--   after review), `as_entered` (never submitted; the office finalised what the unit had
--   entered) or `at_zero` (never submitted; the office finalised it at zero points — scoring
--   counts none of its answers while it is so). Only finalised rows carry it.
-- * A unit may be excluded from a period's ranking with a reason: it is still listed, with
--   its reason and no rank, and it takes no rank from the others. `assessment_scores.ranked`
--   mirrors it on the score row, so every ranking query skips excluded rows without a join.

ALTER TABLE assessments
    ADD COLUMN submitted_at        timestamptz,
    ADD COLUMN submitted_by        uuid REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN submitted_on_behalf boolean NOT NULL DEFAULT false,
    ADD COLUMN submission_reason   text
        CHECK (submission_reason IS NULL OR length(btrim(submission_reason)) BETWEEN 1 AND 10000),
    ADD COLUMN finalised_as        text
        CHECK (finalised_as IN ('reviewed', 'as_entered', 'at_zero')),
    ADD COLUMN excluded_reason     text
        CHECK (excluded_reason IS NULL OR length(btrim(excluded_reason)) BETWEEN 1 AND 10000),
    ADD COLUMN excluded_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN excluded_at         timestamptz,
    ADD CONSTRAINT assessments_on_behalf_check
        CHECK (NOT submitted_on_behalf OR (submitted_at IS NOT NULL AND submission_reason IS NOT NULL)),
    ADD CONSTRAINT assessments_exclusion_check
        CHECK ((excluded_reason IS NULL) = (excluded_at IS NULL));

-- every assessment finalised so far was submitted and reviewed
UPDATE assessments SET finalised_as = 'reviewed' WHERE state = 'finalised';
ALTER TABLE assessments ADD CONSTRAINT assessments_finalised_state_check
    CHECK ((state = 'finalised') = (finalised_as IS NOT NULL));

ALTER TABLE assessment_scores ADD COLUMN ranked boolean NOT NULL DEFAULT true;
