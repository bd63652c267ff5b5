ALTER TABLE idempotency_records DROP COLUMN claim_expires_at;
ALTER TABLE idempotency_records DROP COLUMN owner;
