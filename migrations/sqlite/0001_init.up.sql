-- slotkeeper schema, SQLite (see migrations/README.md for the time format).

-- Catalogue (mirrored from configuration at start).
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE tenant_phone_numbers (
    phone TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE TABLE staff (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    calcom_user_id INTEGER,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE services (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    price_cents INTEGER NOT NULL,
    is_compound INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE service_phases (
    tenant_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    offset_minutes INTEGER NOT NULL,
    duration_minutes INTEGER NOT NULL,
    staff_busy INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, service_id, seq),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id) ON DELETE CASCADE
);
CREATE TABLE staff_services (
    tenant_id TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, staff_id, service_id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id) ON DELETE CASCADE
);
CREATE TABLE staff_hours (
    tenant_id TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    starts TEXT NOT NULL,
    ends TEXT NOT NULL,
    PRIMARY KEY (tenant_id, staff_id, weekday, starts),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id) ON DELETE CASCADE
);
CREATE TABLE staff_exceptions (
    tenant_id TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    day TEXT NOT NULL,
    closed INTEGER NOT NULL,
    hours TEXT NOT NULL,
    PRIMARY KEY (tenant_id, staff_id, day),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id) ON DELETE CASCADE
);

-- Holds (the seed's reservations) and offers.
CREATE TABLE appointment_reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    reservation_token TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'hold' CHECK (kind IN ('hold', 'offer')),
    call_id TEXT NOT NULL,
    customer_name TEXT,
    customer_phone TEXT,
    service_id TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    is_compound INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'converted', 'expired', 'cancelled')),
    status_reason TEXT,
    expires_at TEXT NOT NULL,
    converted_appointment_id TEXT,
    phases TEXT NOT NULL,
    calcom_reservations TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (start_time < end_time)
);
CREATE INDEX appointment_reservations_listing ON appointment_reservations (tenant_id, status, created_at DESC);
CREATE INDEX appointment_reservations_created ON appointment_reservations (created_at DESC);
CREATE INDEX appointment_reservations_call ON appointment_reservations (tenant_id, call_id);
CREATE INDEX appointment_reservations_due ON appointment_reservations (expires_at) WHERE status = 'active';

-- Bookings and their phases.
CREATE TABLE appointments (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    reservation_token TEXT UNIQUE,
    call_id TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    customer_phone TEXT,
    customer_email TEXT,
    notes TEXT,
    service_id TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    is_compound INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled', 'failed')),
    status_reason TEXT,
    sync_state TEXT NOT NULL CHECK (sync_state IN ('pending', 'synced', 'failed', 'compensated')),
    reschedule_count INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (start_time < end_time)
);
CREATE INDEX appointments_phone ON appointments (tenant_id, customer_phone, start_time);
CREATE INDEX appointments_listing ON appointments (tenant_id, created_at DESC);
CREATE INDEX appointments_call ON appointments (tenant_id, call_id);

CREATE TABLE appointment_phases (
    appointment_id TEXT NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    staff_busy INTEGER NOT NULL,
    calcom_event_type_id INTEGER,
    calcom_booking_uid TEXT UNIQUE,
    calcom_booking_id INTEGER,
    calcom_reservation_uid TEXT,
    sync_status TEXT NOT NULL CHECK (sync_status IN ('pending', 'in_flight', 'synced', 'failed', 'cancelled', 'not_applicable')),
    sync_attempts INTEGER NOT NULL DEFAULT 0,
    sync_error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (appointment_id, seq)
);

-- The arbiter: every staff-busy interval of an active hold or a booking.
CREATE TABLE busy_intervals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('hold', 'booking')),
    owner_id TEXT NOT NULL,
    expires_at TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    CONSTRAINT busy_intervals_not_empty CHECK (start_time < end_time)
);
CREATE INDEX busy_intervals_owner ON busy_intervals (owner_id) WHERE active;
CREATE INDEX busy_intervals_staff ON busy_intervals (tenant_id, staff_id, end_time) WHERE active;

-- Busy times known from Cal.com (web bookers, staff entries): facts, not arbitrated.
CREATE TABLE external_busy (
    tenant_id TEXT NOT NULL,
    calcom_uid TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    source TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, calcom_uid),
    CHECK (start_time < end_time)
);
CREATE INDEX external_busy_staff ON external_busy (tenant_id, staff_id, end_time) WHERE active;

-- Durable Cal.com work.
CREATE TABLE calcom_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    appointment_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('create', 'cancel', 'reschedule')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'in_flight', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX calcom_outbox_due ON calcom_outbox (next_attempt_at) WHERE status IN ('pending', 'in_flight');
CREATE INDEX calcom_outbox_appointment ON calcom_outbox (appointment_id);
CREATE INDEX calcom_outbox_dead ON calcom_outbox (tenant_id, updated_at DESC) WHERE status = 'dead';

-- Retell: stored answers for retries, calls, and webhook deliveries already seen.
CREATE TABLE idempotency_records (
    tenant_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    function_name TEXT NOT NULL,
    args_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    response_status INTEGER,
    response_body TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, call_id, function_name, args_hash)
);
CREATE TABLE retell_calls (
    call_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    agent_id TEXT,
    from_number TEXT,
    to_number TEXT,
    status TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    disconnection_reason TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE webhook_deliveries (
    source TEXT NOT NULL,
    delivery_key TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (source, delivery_key)
);

-- Run-time feature flags, audited.
CREATE TABLE feature_flags (
    tenant_id TEXT NOT NULL,
    flag TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    rollout_percent INTEGER NOT NULL DEFAULT 100 CHECK (rollout_percent BETWEEN 0 AND 100),
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, flag)
);
CREATE TABLE feature_flag_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    flag TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
);

-- The arbiter on one node: an active interval may not overlap another active one of the same staff.
-- Text comparison is time comparison for our RFC 3339 UTC format (see README.md).
CREATE TRIGGER busy_intervals_no_overlap_insert BEFORE INSERT ON busy_intervals
WHEN NEW.active
BEGIN
    SELECT RAISE(ABORT, 'slot_taken') WHERE EXISTS (
        SELECT 1 FROM busy_intervals b
        WHERE b.tenant_id = NEW.tenant_id AND b.staff_id = NEW.staff_id AND b.active
          AND b.start_time < NEW.end_time AND b.end_time > NEW.start_time);
END;
CREATE TRIGGER busy_intervals_no_overlap_update BEFORE UPDATE OF active, start_time, end_time, staff_id ON busy_intervals
WHEN NEW.active
BEGIN
    SELECT RAISE(ABORT, 'slot_taken') WHERE EXISTS (
        SELECT 1 FROM busy_intervals b
        WHERE b.id <> NEW.id AND b.tenant_id = NEW.tenant_id AND b.staff_id = NEW.staff_id AND b.active
          AND b.start_time < NEW.end_time AND b.end_time > NEW.start_time);
END;
