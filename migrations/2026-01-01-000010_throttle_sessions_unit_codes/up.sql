-- Login throttling per (account, client address) and per client address, with locks that grow
-- with each further failure. A counter is kept until a quiet period (15 minutes) has passed
-- after its last failure or the end of its lock: `expires_at`. The counters of the former
-- scheme (one per username) mean nothing to this one and are dropped.
DELETE FROM login_throttle;
ALTER TABLE login_throttle DROP COLUMN window_start;
ALTER TABLE login_throttle ADD COLUMN expires_at timestamptz NOT NULL;
CREATE INDEX login_throttle_expires_idx ON login_throttle (expires_at);

-- Unit codes ignore case: `snv` and `SNV` name the same unit, and every lookup by code compares
-- lower(code). Codes that differ only in case have to be renamed before this can run.
DO $$
DECLARE clashes text;
BEGIN
    SELECT string_agg(codes, '; ') INTO clashes FROM (
        SELECT string_agg(code, ', ' ORDER BY code) AS codes
          FROM units GROUP BY lower(code) HAVING count(*) > 1
    ) c;
    IF clashes IS NOT NULL THEN
        RAISE EXCEPTION 'unit codes that differ only in case must be renamed first: %', clashes;
    END IF;
END $$;
CREATE UNIQUE INDEX units_code_lower_key ON units (lower(code));

-- Tokens name the account's session version, which only a change of password, role, unit or
-- active state moves: renaming an account, or a PATCH that changes nothing, no longer logs its
-- user out everywhere. `version` still moves on every change (it is the ETag). Tokens issued
-- before this migration carried `version`, so the session version starts there.
ALTER TABLE users ADD COLUMN session_version integer NOT NULL DEFAULT 1 CHECK (session_version >= 1);
UPDATE users SET session_version = version;
