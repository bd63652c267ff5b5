-- Several nodes as one system (issue 18).

-- Exactly once across nodes (BK-3): a request that may have an effect claims its idempotency
-- key before acting; the claim names its owner and runs out, so a crashed owner's claim is
-- taken over instead of blocking retries for ever.
ALTER TABLE idempotency_records ADD COLUMN owner TEXT;
ALTER TABLE idempotency_records ADD COLUMN claim_expires_at TIMESTAMPTZ;

-- One live process per node id: taken at start (refused while another holds it), renewed while
-- running; `epoch` counts the takeovers.
CREATE TABLE node_leases (
    node_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Outbox leases with a fencing token: every claim increments it, and every later write of the
-- claim names it, so a worker whose claim was taken over (even by its own node) writes nothing.
ALTER TABLE calcom_outbox ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0;
