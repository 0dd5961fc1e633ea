-- The unit tags an assessment is scored with (the `unit_tags_any` applicability of the pinned
-- set), kept on the assessment instead of read from the unit at every rescore.
--
-- A unit's tags change its assessments of the periods still open (self-assessment, review):
-- the change is copied here and those assessments are rescored in the same transaction. The
-- assessments of published and archived periods keep the tags their results were published
-- with, so a recompute of such a period rebuilds exactly what was published.
ALTER TABLE assessments ADD COLUMN unit_tags text[] NOT NULL DEFAULT '{}';
UPDATE assessments a SET unit_tags = u.tags FROM units u WHERE u.id = a.unit_id;
