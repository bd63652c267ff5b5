-- Exactly once across nodes (BK-3): a request that may have an effect claims its idempotency
-- key here before acting; the claim names its owner and runs out, so a crashed owner's claim is
-- taken over instead of blocking retries for ever.
ALTER TABLE idempotency_records ADD COLUMN owner TEXT;
ALTER TABLE idempotency_records ADD COLUMN claim_expires_at TIMESTAMPTZ;
