-- The delivery outbox (crate `seduta-delivery`, docs/delivery.md): one row per
-- session package and configured sink. Portable SQL as in 0001: TEXT and BIGINT only,
-- timestamps in BIGINT milliseconds since the Unix epoch (UTC).
--
-- No foreign key to `sessions`: a delivery record is evidence that a package left the
-- server, and it outlives the session's own rows under a retention procedure.

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    package_version BIGINT NOT NULL,
    sink TEXT NOT NULL,
    package_path TEXT NOT NULL,
    package_sha256 TEXT NOT NULL,
    package_size BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
    attempts BIGINT NOT NULL,
    next_attempt_at_ms BIGINT NOT NULL,
    deadline_at_ms BIGINT NOT NULL,
    lease_owner TEXT,
    lease_token TEXT,
    lease_until_ms BIGINT,
    last_error_code TEXT,
    last_error TEXT,
    receipt TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    delivered_at_ms BIGINT,
    dead_at_ms BIGINT,
    UNIQUE (session_id, package_version, sink)
);
-- The worker's claim: due pending rows and expired leases, oldest first.
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at_ms);
CREATE INDEX deliveries_lease ON deliveries (state, lease_until_ms);
