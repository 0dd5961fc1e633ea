DROP TRIGGER assessment_bases_stamp_delete ON assessment_bases;
DROP TRIGGER assessment_bases_stamp_update ON assessment_bases;
DROP TRIGGER assessment_bases_stamp_insert ON assessment_bases;
DROP FUNCTION stamp_deleted_bases();
DROP FUNCTION stamp_written_bases();
