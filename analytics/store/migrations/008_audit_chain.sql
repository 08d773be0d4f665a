-- The audit trail becomes a hash chain: each entry carries the hash of the one before it
-- (`prev_hash`) and its own `hash`, so an edit or a deletion made outside the app is found by
-- `python -m analytics audit verify`. analytics/practice/audit.py computes both as it INSERTs.
--
-- An entry's hash is sha256 over the canonical text of
--   json_array(id, logged_at as 'YYYY-MM-DDTHH:MM:SS.ffffff', therapist_id, action, entity,
--              entity_id, couple_id, detail (as JSON), prev_hash)
-- and the first entry chains from the genesis value, 64 zeros (audit_genesis()).
CREATE OR REPLACE MACRO audit_genesis() AS repeat('0', 64);

CREATE OR REPLACE MACRO audit_entry_hash(
    id, logged_at, therapist_id, action, entity, entity_id, couple_id, detail, prev_hash
) AS sha256(
    json_array(
        id, strftime(logged_at, '%Y-%m-%dT%H:%M:%S.%f'), therapist_id, action, entity,
        entity_id, couple_id, detail::JSON, prev_hash
    )::VARCHAR
);

-- Seal the entries written before this migration, in id order, into a new table that has the
-- two columns (DuckDB cannot index a column updated in the same transaction, so the old table is
-- copied and replaced; the app itself never UPDATEs or DELETEs audit entries). One step per
-- entry: each hash needs the one before it.
CREATE TEMP TABLE audit_ordered AS
SELECT row_number() OVER (ORDER BY id) AS n, * FROM audit_log;

CREATE TEMP TABLE audit_sealed AS
WITH RECURSIVE chain (n, id, prev_hash, hash) AS (
    SELECT n, id, audit_genesis(), audit_entry_hash(
        id, logged_at, therapist_id, action, entity, entity_id, couple_id, detail, audit_genesis()
    )
    FROM audit_ordered WHERE n = 1
    UNION ALL
    SELECT o.n, o.id, c.hash, audit_entry_hash(
        o.id, o.logged_at, o.therapist_id, o.action, o.entity, o.entity_id, o.couple_id,
        o.detail, c.hash
    )
    FROM chain c JOIN audit_ordered o ON o.n = c.n + 1
)
SELECT id, prev_hash, hash FROM chain;

-- Two writers that read the same last entry cannot both append after it: the second fails at
-- COMMIT on the UNIQUE prev_hash (db.atomic runs it again on the new last entry), so the chain
-- never forks.
CREATE TABLE audit_log_chained (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_audit'),
    logged_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    therapist_id  INTEGER,
    action        VARCHAR NOT NULL,
    entity        VARCHAR NOT NULL,
    entity_id     BIGINT,
    couple_id     INTEGER,
    detail        JSON,
    prev_hash     VARCHAR NOT NULL UNIQUE,
    hash          VARCHAR NOT NULL
);

INSERT INTO audit_log_chained
SELECT a.id, a.logged_at, a.therapist_id, a.action, a.entity, a.entity_id, a.couple_id, a.detail,
       s.prev_hash, s.hash
FROM audit_log a JOIN audit_sealed s ON s.id = a.id;

DROP TABLE audit_sealed;
DROP TABLE audit_ordered;
DROP TABLE audit_log;
ALTER TABLE audit_log_chained RENAME TO audit_log;
