DROP INDEX idempotency_keys_created_at;
DELETE FROM idempotency_keys WHERE token_id IS NOT NULL;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys DROP COLUMN owner_id;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_one_owner;
ALTER TABLE idempotency_keys DROP COLUMN token_id;
ALTER TABLE idempotency_keys ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (user_id, key);
