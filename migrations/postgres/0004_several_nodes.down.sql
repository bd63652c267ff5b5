ALTER TABLE calcom_outbox DROP COLUMN lease_token;
DROP TABLE node_leases;
ALTER TABLE idempotency_records DROP COLUMN claim_expires_at;
ALTER TABLE idempotency_records DROP COLUMN owner;
