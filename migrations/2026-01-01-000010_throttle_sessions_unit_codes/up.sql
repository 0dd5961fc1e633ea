-- Login throttling per (account, client address) and per client address, with locks that grow
-- with each further failure. A counter is kept until a quiet period (15 minutes) has passed
-- after its last failure or the end of its lock: `expires_at`. The counters of the former
-- scheme (one per username) mean nothing to this one and are dropped.
DELETE FROM login_throttle;
ALTER TABLE login_throttle DROP COLUMN window_start;
ALTER TABLE login_throttle ADD COLUMN expires_at timestamptz NOT NULL;
CREATE INDEX login_throttle_expires_idx ON login_throttle (expires_at);
