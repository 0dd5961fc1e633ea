-- The group stamp of stored bases (`period_groups.bases_version`, migration `bases_version`)
-- is what tells a server that its copy of a group's bases is current. Until now every writer
-- of `assessment_bases` had to set it in the same statement; a writer that forgot would leave
-- other servers reading stale bases without noticing. These triggers make it the database's
-- job: any statement that inserts or updates bases sets the group stamp to the stamp of the
-- rows it wrote (a fresh random one when it wrote several stamps for a group), any delete
-- draws a fresh stamp, and a basis row without a stamp is refused.
CREATE FUNCTION stamp_written_bases() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM written WHERE stamp IS NULL) THEN
        RAISE EXCEPTION 'a stored basis needs a stamp' USING ERRCODE = 'not_null_violation';
    END IF;
    UPDATE period_groups pg
       SET bases_version = CASE WHEN w.stamps = 1 THEN w.stamp ELSE gen_random_uuid() END
      FROM (SELECT period_id, group_id, count(DISTINCT stamp) AS stamps, min(stamp::text)::uuid AS stamp
              FROM written GROUP BY period_id, group_id) w
     WHERE pg.period_id = w.period_id AND pg.group_id = w.group_id
       AND pg.bases_version IS DISTINCT FROM
           (CASE WHEN w.stamps = 1 THEN w.stamp ELSE gen_random_uuid() END);
    RETURN NULL;
END $$;

CREATE FUNCTION stamp_deleted_bases() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE period_groups pg SET bases_version = gen_random_uuid()
      FROM (SELECT DISTINCT period_id, group_id FROM deleted) d
     WHERE pg.period_id = d.period_id AND pg.group_id = d.group_id;
    RETURN NULL;
END $$;

CREATE TRIGGER assessment_bases_stamp_insert AFTER INSERT ON assessment_bases
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION stamp_written_bases();
CREATE TRIGGER assessment_bases_stamp_update AFTER UPDATE ON assessment_bases
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION stamp_written_bases();
CREATE TRIGGER assessment_bases_stamp_delete AFTER DELETE ON assessment_bases
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION stamp_deleted_bases();
