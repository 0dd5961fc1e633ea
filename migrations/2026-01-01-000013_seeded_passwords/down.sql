DROP TRIGGER users_password_change_clears_seeded ON users;
DROP FUNCTION users_clear_seeded_password();
ALTER TABLE users DROP COLUMN seeded_password;
