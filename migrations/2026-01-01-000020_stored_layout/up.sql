-- The layout of a group's stored numbers. `assessment_scores.scope_*` are parallel to the
-- ranking scopes of the group's compiled set, and `assessment_bases.basis` keeps positions in
-- its compiled pre-order: both mean something only for the compile and scope order they were
-- written with. `layout` fingerprints that order (see `services::scoring::SetEntry::layout`);
-- every writer of a group's numbers compares it under the group lock and rebuilds the group
-- from its inputs when it differs, so a change of order (or a replica of another version)
-- never mislabels a stored number. NULL: written before layouts were recorded; rebuilt at
-- the next start.
ALTER TABLE period_groups ADD COLUMN layout text;
