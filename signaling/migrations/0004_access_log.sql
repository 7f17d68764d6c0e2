-- The access log of the session record (issue 5): every view of a closed session's
-- record, every playback and download of its media and package, every signature
-- upload and every deletion under the retention procedure. Append-only: the store
-- has no statement that updates or deletes a row. Portable SQL as in 0001.
--
-- No foreign key to `sessions`: the log must outlive a session deleted under the
-- retention procedure (the deletion itself is a row here).

CREATE TABLE access_log (
    id BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    ente_id TEXT NOT NULL,
    session_id TEXT,
    staff_id TEXT NOT NULL,
    staff_username TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX access_log_session ON access_log (session_id, id);
CREATE INDEX access_log_ente ON access_log (ente_id, id);
