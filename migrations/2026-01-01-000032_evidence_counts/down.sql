DROP TRIGGER evidence_count_update ON evidence;
DROP TRIGGER evidence_count_delete ON evidence;
DROP TRIGGER evidence_count_insert ON evidence;
DROP FUNCTION count_evidence_changes();
ALTER TABLE answers DROP COLUMN evidence_count;
