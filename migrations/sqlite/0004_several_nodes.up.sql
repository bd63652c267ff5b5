-- The same schema as on PostgreSQL (issue 18). SQLite serves one process; the node lease still
-- refuses a second process started on the same database file.
ALTER TABLE idempotency_records ADD COLUMN owner TEXT;
ALTER TABLE idempotency_records ADD COLUMN claim_expires_at TEXT;

CREATE TABLE node_leases (
    node_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    expires_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

ALTER TABLE calcom_outbox ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
