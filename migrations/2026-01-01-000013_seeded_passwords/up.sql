-- Accounts that may still have the published demo password. The seeds set the mark on every
-- account they create; a change of password clears it (trigger below, whatever the code path);
-- a production start verifies the marked accounts against the demo password, refuses to start
-- while an active one still has it, and clears the mark of those that do not. Accounts that
-- existed before this migration are marked too: nothing says who created them, and the first
-- production start checks each distinct hash once.
ALTER TABLE users ADD COLUMN seeded_password boolean NOT NULL DEFAULT false;
UPDATE users SET seeded_password = true;

CREATE FUNCTION users_clear_seeded_password() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN
        NEW.seeded_password := false;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_password_change_clears_seeded
    BEFORE UPDATE OF password_hash ON users
    FOR EACH ROW EXECUTE FUNCTION users_clear_seeded_password();
