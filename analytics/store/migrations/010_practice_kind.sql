-- What kind of practice a database file holds (issue 11): a row 'demo' marks the synthetic demo
-- practice (written by analytics/demo/build.py); no row means a real practice. A table of its
-- own, not a practice_text_settings row: it is not a setting anyone changes, and `demo --force`
-- trusts it before replacing a file.
CREATE TABLE IF NOT EXISTS practice_kind (
    kind       VARCHAR PRIMARY KEY CHECK (kind IN ('demo')),
    marked_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- A demo built before this migration (the builder's own audit entry, only demo therapists and
-- nothing imported) is marked too, so that `demo --force` may replace it.
INSERT INTO practice_kind (kind, marked_at)
SELECT 'demo', (SELECT min(logged_at) FROM audit_log WHERE action = 'demo:build')
WHERE EXISTS (SELECT 1 FROM audit_log WHERE action = 'demo:build')
  AND NOT EXISTS (SELECT 1 FROM therapists WHERE name NOT LIKE '% Demo')
  AND NOT EXISTS (SELECT 1 FROM import_batches)
  AND NOT EXISTS (SELECT 1 FROM accounts);
