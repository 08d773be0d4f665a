-- 001: the whole product's schema, sized for the roadmap; later issues fill the tables.
--
-- No FOREIGN KEY clauses, on purpose: DuckDB 1.5 rewrites an UPDATE of an indexed column as
-- delete + insert, so a parent row with a UNIQUE column (case code, email, client code) could never
-- be edited once a child row referenced it. Uniqueness is what stops a response being filed under
-- the wrong client, so we keep UNIQUE constraints and enforce references in analytics/ (parents are
-- created first and never deleted; tests check there are no orphans).

CREATE SEQUENCE IF NOT EXISTS seq_therapists START 1;
CREATE TABLE IF NOT EXISTS therapists (
    id          INTEGER PRIMARY KEY DEFAULT nextval('seq_therapists'),
    name        VARCHAR NOT NULL UNIQUE,
    role        VARCHAR NOT NULL DEFAULT 'therapist' CHECK (role IN ('therapist', 'supervisor')),
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE IF NOT EXISTS seq_couples START 1;
CREATE TABLE IF NOT EXISTS couples (
    id            INTEGER PRIMARY KEY DEFAULT nextval('seq_couples'),
    case_code     VARCHAR NOT NULL UNIQUE,
    therapist_id  INTEGER NOT NULL,
    status        VARCHAR NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'closed')),
    start_date    DATE NOT NULL,
    -- Repair after a betrayal is part of the work; the hurt partner sets the pace (milestone 3).
    repair_focus  BOOLEAN NOT NULL DEFAULT FALSE,
    hurt_partner  VARCHAR CHECK (hurt_partner IN ('A', 'B')),
    closed_at     DATE,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE IF NOT EXISTS seq_partners START 1;
CREATE TABLE IF NOT EXISTS partners (
    id            INTEGER PRIMARY KEY DEFAULT nextval('seq_partners'),
    couple_id     INTEGER NOT NULL,
    label         VARCHAR NOT NULL CHECK (label IN ('A', 'B')),
    display_name  VARCHAR NOT NULL,
    -- Stored lower-case; survey exports are matched on it.
    email         VARCHAR UNIQUE,
    -- Carried by a survey instead of an email; default case code + A/B.
    client_code   VARCHAR NOT NULL UNIQUE,
    UNIQUE (couple_id, label)
);

CREATE SEQUENCE IF NOT EXISTS seq_sessions START 1;
CREATE TABLE IF NOT EXISTS sessions (
    id              INTEGER PRIMARY KEY DEFAULT nextval('seq_sessions'),
    couple_id       INTEGER NOT NULL,
    session_date    DATE NOT NULL,
    session_number  INTEGER NOT NULL,
    attendance      VARCHAR NOT NULL CHECK (attendance IN ('both', 'A', 'B', 'neither')),
    notes           VARCHAR,
    created_by      INTEGER,
    created_at      TIMESTAMP NOT NULL DEFAULT current_timestamp,
    UNIQUE (couple_id, session_number)
);

-- A copy of the instrument data files (analytics/instruments/*.toml), synced at start so SQL can join.
CREATE SEQUENCE IF NOT EXISTS seq_instruments START 1;
CREATE TABLE IF NOT EXISTS instruments (
    id          INTEGER PRIMARY KEY DEFAULT nextval('seq_instruments'),
    code        VARCHAR NOT NULL UNIQUE,
    name        VARCHAR NOT NULL,
    version     VARCHAR NOT NULL,
    scale_min   DOUBLE NOT NULL,
    scale_max   DOUBLE NOT NULL,
    definition  JSON NOT NULL,
    synced_at   TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE IF NOT EXISTS constructs (
    instrument_id  INTEGER NOT NULL,
    code           VARCHAR NOT NULL,
    family         VARCHAR NOT NULL,
    label          VARCHAR NOT NULL,
    direction      VARCHAR NOT NULL CHECK (direction IN ('higher_better', 'higher_worse')),
    min_items      INTEGER NOT NULL,
    -- Safety constructs: any single answer at or above this value is a flag.
    flag_at        DOUBLE,
    PRIMARY KEY (instrument_id, code)
);

CREATE SEQUENCE IF NOT EXISTS seq_items START 1;
CREATE TABLE IF NOT EXISTS items (
    id             INTEGER PRIMARY KEY DEFAULT nextval('seq_items'),
    instrument_id  INTEGER NOT NULL,
    code           VARCHAR NOT NULL,
    position       INTEGER NOT NULL,
    construct      VARCHAR NOT NULL,
    text           VARCHAR NOT NULL,
    reverse        BOOLEAN NOT NULL DEFAULT FALSE,
    min_value      DOUBLE NOT NULL,
    max_value      DOUBLE NOT NULL,
    is_safety      BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (instrument_id, code)
);

CREATE SEQUENCE IF NOT EXISTS seq_import_profiles START 1;
CREATE TABLE IF NOT EXISTS import_profiles (
    id                INTEGER PRIMARY KEY DEFAULT nextval('seq_import_profiles'),
    name              VARCHAR NOT NULL UNIQUE,
    header_signature  VARCHAR NOT NULL UNIQUE,
    source            VARCHAR NOT NULL,
    instrument_code   VARCHAR NOT NULL,
    mapping           JSON NOT NULL,
    created_by        INTEGER,
    created_at        TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at        TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE IF NOT EXISTS seq_import_batches START 1;
CREATE TABLE IF NOT EXISTS import_batches (
    id           INTEGER PRIMARY KEY DEFAULT nextval('seq_import_batches'),
    file_name    VARCHAR NOT NULL,
    checksum     VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    profile_id   INTEGER,
    imported_by  INTEGER,
    imported_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    rows_total   INTEGER NOT NULL DEFAULT 0,
    accepted     INTEGER NOT NULL DEFAULT 0,
    rejected     INTEGER NOT NULL DEFAULT 0,
    duplicates   INTEGER NOT NULL DEFAULT 0,
    unmatched    INTEGER NOT NULL DEFAULT 0
);

CREATE SEQUENCE IF NOT EXISTS seq_responses START 1;
CREATE TABLE IF NOT EXISTS responses (
    id                  BIGINT PRIMARY KEY DEFAULT nextval('seq_responses'),
    partner_id          INTEGER NOT NULL,
    instrument_id       INTEGER NOT NULL,
    completed_at        TIMESTAMP NOT NULL,
    session_id          INTEGER,
    batch_id            INTEGER,
    source_response_id  VARCHAR,
    -- partner + instrument + completion time (to the second): re-importing an overlapping
    -- export finds the same key and adds nothing.
    natural_key         VARCHAR NOT NULL UNIQUE,
    created_at          TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- No primary key, on purpose: answers are only ever written together with their new response
-- (whose natural_key is UNIQUE), one per item, in the same transaction. A (response_id, item_id)
-- index tripled the cost of a 100,000-response import and guarded nothing the importer and the
-- tests do not already guarantee (tests/test_import_pipeline.py checks one answer per item).
CREATE TABLE IF NOT EXISTS answers (
    response_id  BIGINT NOT NULL,
    item_id      INTEGER NOT NULL,
    value        DOUBLE NOT NULL
);

-- Rows whose respondent matched no partner wait here until the therapist assigns or discards them.
CREATE SEQUENCE IF NOT EXISTS seq_unmatched START 1;
CREATE TABLE IF NOT EXISTS unmatched_responses (
    id             BIGINT PRIMARY KEY DEFAULT nextval('seq_unmatched'),
    batch_id       INTEGER NOT NULL,
    row_number     INTEGER NOT NULL,
    respondent     VARCHAR,
    instrument_id  INTEGER NOT NULL,
    completed_at   TIMESTAMP NOT NULL,
    answers        JSON NOT NULL,
    status         VARCHAR NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'assigned', 'discarded')),
    partner_id     INTEGER,
    resolved_by    INTEGER,
    resolved_at    TIMESTAMP
);

-- History of the four repair milestones: every change is a new row; the latest row per milestone wins.
CREATE SEQUENCE IF NOT EXISTS seq_repair START 1;
CREATE TABLE IF NOT EXISTS repair_milestones (
    id          INTEGER PRIMARY KEY DEFAULT nextval('seq_repair'),
    couple_id   INTEGER NOT NULL,
    milestone   INTEGER NOT NULL CHECK (milestone BETWEEN 1 AND 4),
    status      VARCHAR NOT NULL CHECK (status IN ('not_started', 'in_progress', 'reached')),
    changed_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    changed_by  INTEGER,
    note        VARCHAR
);

CREATE SEQUENCE IF NOT EXISTS seq_agenda START 1;
CREATE TABLE IF NOT EXISTS agenda_items (
    id          INTEGER PRIMARY KEY DEFAULT nextval('seq_agenda'),
    couple_id   INTEGER NOT NULL,
    session_id  INTEGER,
    source      VARCHAR NOT NULL DEFAULT 'therapist' CHECK (source IN ('data', 'therapist')),
    kind        VARCHAR NOT NULL,
    text        VARCHAR NOT NULL,
    priority    INTEGER NOT NULL DEFAULT 50,
    status      VARCHAR NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'dropped')),
    created_by  INTEGER,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- Append-only: analytics/audit.py only ever INSERTs here. Detail never holds answers or notes.
CREATE SEQUENCE IF NOT EXISTS seq_audit START 1;
CREATE TABLE IF NOT EXISTS audit_log (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_audit'),
    logged_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    therapist_id  INTEGER,
    action        VARCHAR NOT NULL,
    entity        VARCHAR NOT NULL,
    entity_id     BIGINT,
    couple_id     INTEGER,
    detail        JSON
);

CREATE INDEX IF NOT EXISTS idx_responses_partner ON responses (partner_id, completed_at);
CREATE INDEX IF NOT EXISTS idx_partners_couple ON partners (couple_id);
CREATE INDEX IF NOT EXISTS idx_couples_therapist ON couples (therapist_id);
