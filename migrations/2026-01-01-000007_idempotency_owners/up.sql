-- Idempotency keys belong to the caller: an account (user_id) or an integration token
-- (token_id). Integration tokens have no row in `users`, and a token's creator may be gone
-- (created_by is SET NULL), so a token's keys cannot be filed under a user: each key names
-- exactly one owner, and the primary key is over that owner.
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE idempotency_keys
    ADD COLUMN token_id uuid REFERENCES integration_tokens (id) ON DELETE CASCADE;
ALTER TABLE idempotency_keys
    ADD CONSTRAINT idempotency_keys_one_owner CHECK (num_nonnulls(user_id, token_id) = 1);
ALTER TABLE idempotency_keys
    ADD COLUMN owner_id uuid GENERATED ALWAYS AS (COALESCE(user_id, token_id)) STORED;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (owner_id, key);
-- keys are kept 24 hours; expired ones are deleted by created_at
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
