-- Whether an answer has evidence is one of the inputs of scoring (a component whose rule
-- requires evidence scores nothing without it), and scoring read it by joining `evidence` to
-- the answers it scored. With the generic plan every scoring read runs, that join hashed the
-- whole evidence table: at 3,400 units with half the answers evidenced (170,000 items), the
-- scoring read of one assessment took 32-39 ms instead of under 1 ms (every answer write
-- pays it), and a recompute's read of 500 assessments 250-330 ms instead of 45 ms.
--
-- Each answer now counts its evidence items, kept by the statement triggers below (one
-- `UPDATE` per statement, however many items it writes: an import attaches thousands at once),
-- so scoring reads the count with the answer and never touches `evidence`. The count moves by
-- increments: two transactions adding or removing items of one answer at once both count
-- (an `UPDATE` waits for the other's row and adds to what it committed), whatever each saw.
ALTER TABLE answers ADD COLUMN evidence_count integer NOT NULL DEFAULT 0
    CHECK (evidence_count >= 0);

UPDATE answers a SET evidence_count = e.n
  FROM (SELECT answer_id, count(*)::integer AS n FROM evidence GROUP BY answer_id) e
 WHERE a.id = e.answer_id;

-- One function for the three triggers: the transition tables say what was added and removed.
CREATE FUNCTION count_evidence_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE answers a SET evidence_count = a.evidence_count + d.n
          FROM (SELECT answer_id, count(*)::integer AS n FROM added GROUP BY answer_id) d
         WHERE a.id = d.answer_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE answers a SET evidence_count = a.evidence_count - d.n
          FROM (SELECT answer_id, count(*)::integer AS n FROM removed GROUP BY answer_id) d
         WHERE a.id = d.answer_id;
    ELSE
        -- an item moved to another answer counts there and no longer here
        UPDATE answers a SET evidence_count = a.evidence_count + d.n
          FROM (SELECT answer_id, sum(n)::integer AS n
                  FROM (SELECT answer_id, 1 AS n FROM added
                        UNION ALL
                        SELECT answer_id, -1 FROM removed) x
                 GROUP BY answer_id
                HAVING sum(n) <> 0) d
         WHERE a.id = d.answer_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER evidence_count_insert AFTER INSERT ON evidence
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION count_evidence_changes();
CREATE TRIGGER evidence_count_delete AFTER DELETE ON evidence
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION count_evidence_changes();
CREATE TRIGGER evidence_count_update AFTER UPDATE ON evidence
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION count_evidence_changes();
