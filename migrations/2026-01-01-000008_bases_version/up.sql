-- Version stamps of the stored bases (`assessment_bases`), so that a server can keep the
-- parsed bases of a group in memory and know, without reading them all, whether they are
-- current and which ones are not.
--
-- Every statement that writes bases of a group draws a fresh random stamp and sets it on the
-- group (`period_groups.bases_version`) and on each row it writes (`assessment_bases.stamp`),
-- in the same transaction; the writer already holds the group row's lock. A server's copy that
-- carries the group stamp read under that lock is exactly what the table holds. Any other stamp
-- (another replica wrote, a write rolled back after touching the copy, no copy yet) means
-- comparing the rows' stamps with the copy's and reading the rows that differ. Random, not a
-- counter: a rolled-back stamp can never come back.
ALTER TABLE period_groups ADD COLUMN bases_version uuid;
ALTER TABLE assessment_bases ADD COLUMN stamp uuid;
