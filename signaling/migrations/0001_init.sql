-- The meeting model of the control plane. One set of migrations for SQLite and
-- PostgreSQL: portable types only (TEXT, BIGINT), no AUTOINCREMENT/SERIAL, no JSONB.
-- Timestamps are BIGINT milliseconds since the Unix epoch (UTC); dates are TEXT
-- `YYYY-MM-DD`; JSON documents are TEXT; booleans are BIGINT 0/1.

CREATE TABLE enti (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    codice_istat TEXT
);

CREATE TABLE organs (
    id TEXT PRIMARY KEY,
    ente_id TEXT NOT NULL REFERENCES enti (id),
    name TEXT NOT NULL,
    seats BIGINT NOT NULL,
    settings TEXT NOT NULL
);
CREATE INDEX organs_ente ON organs (ente_id);

CREATE TABLE members (
    id TEXT PRIMARY KEY,
    organ_id TEXT NOT NULL REFERENCES organs (id),
    name TEXT NOT NULL,
    office TEXT NOT NULL,
    presiding BIGINT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT
);
CREATE INDEX members_organ ON members (organ_id);

CREATE TABLE staff_accounts (
    id TEXT PRIMARY KEY,
    ente_id TEXT NOT NULL REFERENCES enti (id),
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    password_changed_at_ms BIGINT NOT NULL,
    disabled BIGINT NOT NULL
);

CREATE TABLE revoked_staff_tokens (
    jti TEXT PRIMARY KEY,
    expires_at_ms BIGINT NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    organ_id TEXT NOT NULL REFERENCES organs (id),
    title TEXT NOT NULL,
    scheduled_at TEXT NOT NULL,
    seat TEXT NOT NULL,
    convocation TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    opened_at_ms BIGINT,
    closed_at_ms BIGINT,
    meeting_state TEXT
);
CREATE INDEX sessions_organ ON sessions (organ_id);

CREATE TABLE agenda_items (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    number BIGINT NOT NULL,
    subject TEXT NOT NULL,
    PRIMARY KEY (session_id, number)
);

CREATE TABLE session_participants (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    member_id TEXT REFERENCES members (id),
    PRIMARY KEY (session_id, id)
);

CREATE TABLE invitations (
    jti TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT,
    FOREIGN KEY (session_id, participant_id) REFERENCES session_participants (session_id, id)
);
CREATE INDEX invitations_session ON invitations (session_id);

CREATE TABLE attendance_log (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);

CREATE TABLE votes (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    number BIGINT NOT NULL,
    item BIGINT NOT NULL,
    kind TEXT NOT NULL,
    mode TEXT NOT NULL,
    opened_at_ms BIGINT NOT NULL,
    closed_at_ms BIGINT NOT NULL,
    ballots TEXT NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (session_id, number)
);
