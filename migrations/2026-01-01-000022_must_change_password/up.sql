-- Accounts that must choose a new password before they may do anything else: those created by
-- an accounts import (with a one-time password) and those whose password an administrator set.
-- Cleared by the account's own password change (POST /api/v1/me/password).
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
