-- The same columns as on PostgreSQL (one process only: claims are not needed there, the
-- in-process single flight is enough, but the schemas stay alike).
ALTER TABLE idempotency_records ADD COLUMN owner TEXT;
ALTER TABLE idempotency_records ADD COLUMN claim_expires_at TEXT;
