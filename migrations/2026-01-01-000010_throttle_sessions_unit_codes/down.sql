ALTER TABLE users DROP COLUMN session_version;
DROP INDEX units_code_lower_key;
DROP INDEX login_throttle_expires_idx;
DELETE FROM login_throttle;
ALTER TABLE login_throttle DROP COLUMN expires_at;
ALTER TABLE login_throttle ADD COLUMN window_start timestamptz NOT NULL DEFAULT now();
