-- Sign-in (issue 11): each person has an account with a username and an argon2id password hash;
-- roles are a clinical identity (the linked therapist row, therapist or supervisor) and/or
-- administration (manages accounts, sees no clinical data through that role alone).
CREATE SEQUENCE IF NOT EXISTS seq_accounts START 1;
CREATE TABLE IF NOT EXISTS accounts (
    id                   INTEGER PRIMARY KEY DEFAULT nextval('seq_accounts'),
    -- Stored lower-case; signing in ignores case.
    username             VARCHAR NOT NULL UNIQUE,
    -- The clinical identity (therapists.id) this account acts as; NULL for administration only.
    therapist_id         INTEGER UNIQUE,
    is_admin             BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash        VARCHAR NOT NULL,
    -- Counted since the last successful sign-in; five in a row lock the account for a while.
    failed_attempts      INTEGER NOT NULL DEFAULT 0,
    locked_until         TIMESTAMP,
    disabled_at          TIMESTAMP,
    password_changed_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    created_at           TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- One row per signed-in browser session. Only a hash of the token is stored; the browser holds
-- the token in a signed cookie, and a reload within the idle time resumes the session.
CREATE SEQUENCE IF NOT EXISTS seq_sign_ins START 1;
CREATE TABLE IF NOT EXISTS sign_ins (
    id          BIGINT PRIMARY KEY DEFAULT nextval('seq_sign_ins'),
    account_id  INTEGER NOT NULL,
    token_hash  VARCHAR NOT NULL UNIQUE,
    started_at  TIMESTAMP NOT NULL,
    last_seen   TIMESTAMP NOT NULL,
    ended_at    TIMESTAMP,
    -- 'signed out', 'idle', 'disabled', 'password changed', 'expired'
    end_reason  VARCHAR
);
CREATE INDEX IF NOT EXISTS idx_sign_ins_account ON sign_ins (account_id);

-- The secret that signs session cookies: made on first use by analytics/practice/sign_ins.py
-- (from Python's `secrets`, not SQL's random()), kept in the (encrypted) database.
CREATE TABLE IF NOT EXISTS practice_secrets (
    key    VARCHAR PRIMARY KEY,
    value  VARCHAR NOT NULL
);

-- Minutes without activity after which a signed-in person is signed out.
INSERT INTO practice_settings (key, value)
SELECT 'idle_logoff_minutes', 15
WHERE NOT EXISTS (SELECT 1 FROM practice_settings WHERE key = 'idle_logoff_minutes');
