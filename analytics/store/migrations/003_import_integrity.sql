-- 003: import integrity. A survey tool's own response id becomes part of a response's identity;
-- the unmatched queue keeps that id, a duplicate key and why a row was discarded; two practice
-- settings: the grace before a couple's start within which answers are still accepted, and the
-- practice's time zone (a text setting).

-- A response's natural key gains the survey tool's own id when the export had one:
--   partner:instrument:completed-to-the-second#source:id
-- so that two distinct answer sheets of one partner less than a second apart never collapse.
-- Keys already stored get the same suffix (source from their import batch), so re-importing an
-- export imported before this upgrade still finds every sheet stored and adds nothing.
UPDATE responses
SET natural_key = natural_key || '#'
    || coalesce((SELECT b.source FROM import_batches b WHERE b.id = responses.batch_id), '')
    || ':' || source_response_id
WHERE source_response_id IS NOT NULL;

-- The unmatched queue: the survey tool's id of a queued row (carried into the response when the
-- row is filed), and its duplicate key (instrument version, respondent, completion second and the
-- id part, as above). The key is UNIQUE so that two imports queueing the same row at the same
-- moment conflict (and the later one, retried, counts it as a duplicate) instead of queueing it
-- twice. Rows queued before this upgrade keep a NULL key: the importer matches them on
-- respondent and time alone, since their id was not kept.
ALTER TABLE unmatched_responses ADD COLUMN source_response_id VARCHAR;
ALTER TABLE unmatched_responses ADD COLUMN queue_key VARCHAR;

-- Why a row was discarded: one of a fixed list of categories (checked in
-- analytics/importing/unmatched.py: DuckDB cannot add a column with a CHECK constraint) and an
-- optional note. The note may hold anything the therapist typed: it is never audited or logged.
ALTER TABLE unmatched_responses ADD COLUMN discard_reason VARCHAR;
ALTER TABLE unmatched_responses ADD COLUMN discard_note VARCHAR;

-- The queue key's UNIQUE index (above), created once every column is added.
CREATE UNIQUE INDEX IF NOT EXISTS idx_unmatched_queue_key ON unmatched_responses (queue_key);

-- Answers dated more than this many days before the couple's start are rejected.
INSERT INTO practice_settings (key, value) VALUES ('start_grace_days', 30);

-- Text-valued practice settings (today: 'time_zone', an IANA zone name). A table of their own,
-- not a second column of practice_settings: the numeric settings stay one typed DOUBLE NOT NULL
-- column that the flag macros read, and a text setting is never half a row of NULLs. A missing
-- row means the default, which for the time zone is the server's zone at the time of reading
-- (not knowable here, so no default row is written).
CREATE TABLE practice_text_settings (
    key         VARCHAR PRIMARY KEY,
    value       VARCHAR NOT NULL,
    updated_by  INTEGER,
    updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);
