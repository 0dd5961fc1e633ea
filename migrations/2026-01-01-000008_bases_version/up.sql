-- A version stamp of a group's stored bases (`assessment_bases`), so that a server can keep the
-- parsed bases of a group in memory and know without reading them whether they are current.
--
-- Every statement that writes bases of a group sets a fresh random stamp here in the same
-- transaction (the group row is already locked by the writer). A server whose cached copy
-- carries the stamp it reads under that lock has exactly what the table holds; any other stamp
-- (another replica wrote, a write rolled back after touching the cache, no copy yet) means
-- reading the bases again. Random, not a counter: a rolled-back stamp can never come back.
ALTER TABLE period_groups ADD COLUMN bases_version uuid;
