-- Which control-plane replica runs each session (multi-node, issue 6). A replica
-- holds a session while it renews the lease; a lapsed lease may be taken by any
-- replica, which then recovers the session from the store. Portable SQL as in 0001.
CREATE TABLE session_owners (
    session_id TEXT PRIMARY KEY,
    replica TEXT NOT NULL,
    url TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
