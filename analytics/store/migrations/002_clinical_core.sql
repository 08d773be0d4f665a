-- 002: the clinical core. Instruments become versioned (one row per code and version, every
-- response pointing at the version it answered), with response formats per item, scales,
-- bands, free-text answers, safety reviews and practice settings; then the SQL that is the one
-- definition of every clinical number: access, scores, criteria, change, gaps and flags.
--
-- Databases from release 1 keep their answers: the 1.0 check-in's constructs become scales
-- (origin 'legacy'). Its safety items were asked on an agreement scale, where no answer short of
-- "Strongly disagree" is an unambiguous denial; those stored answers keep release 1's threshold,
-- so no possible disclosure is dropped by the upgrade (one safety review acknowledges them all).
-- New versions must use a frequency or yes/no format (analytics/instruments/schema.py).

-- Instruments: one row per (code, version). Recreated: 001 made `code` unique.
CREATE TABLE instruments_v2 (
    id          INTEGER PRIMARY KEY DEFAULT nextval('seq_instruments'),
    code        VARCHAR NOT NULL,
    version     VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,
    headline    VARCHAR,
    period      VARCHAR,
    source      VARCHAR,
    origin      VARCHAR NOT NULL CHECK (origin IN ('builtin', 'folder', 'legacy')),
    file_name   VARCHAR,
    checksum    VARCHAR NOT NULL,
    definition  JSON NOT NULL,
    -- The version new responses are filed under: the one in today's files.
    is_current  BOOLEAN NOT NULL DEFAULT TRUE,
    synced_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    UNIQUE (code, version)
);
INSERT INTO instruments_v2 (id, code, version, name, headline, period, source, origin, checksum,
                            definition, is_current, synced_at)
SELECT id, code, version, name, json_extract_string(definition, '$.global_construct'),
       json_extract_string(definition, '$.period'), json_extract_string(definition, '$.source'),
       'legacy', 'legacy-' || code || '-' || version, definition, TRUE, synced_at
FROM instruments;
DROP TABLE instruments;
ALTER TABLE instruments_v2 RENAME TO instruments;

-- Items: each with its own response format. Recreated, keeping ids (answers point at them).
CREATE TABLE items_v2 (
    id             INTEGER PRIMARY KEY DEFAULT nextval('seq_items'),
    instrument_id  INTEGER NOT NULL,
    code           VARCHAR NOT NULL,
    position       INTEGER NOT NULL,
    kind           VARCHAR NOT NULL CHECK (kind IN ('scored', 'safety', 'text')),
    label          VARCHAR,
    -- Our own wording; NULL for licensed instruments (codes only).
    text           VARCHAR,
    format_type    VARCHAR CHECK (format_type IN ('agreement', 'frequency', 'yes_no', 'rating')),
    min_value      DOUBLE,
    max_value      DOUBLE,
    labels         VARCHAR[],
    reverse        BOOLEAN NOT NULL DEFAULT FALSE,
    -- Safety items: the lowest answer that counts as positive.
    threshold      DOUBLE,
    UNIQUE (instrument_id, code)
);
INSERT INTO items_v2 (id, instrument_id, code, position, kind, label, text, format_type,
                      min_value, max_value, labels, reverse, threshold)
SELECT i.id, i.instrument_id, i.code, i.position,
       CASE WHEN i.is_safety THEN 'safety' ELSE 'scored' END, NULL, i.text, 'agreement',
       i.min_value, i.max_value, CAST(json_extract(s.definition, '$.labels') AS VARCHAR[]),
       i.reverse, CASE WHEN i.is_safety THEN i.min_value + 1 END
FROM items i JOIN instruments s ON s.id = i.instrument_id;

CREATE TABLE scales (
    instrument_id        INTEGER NOT NULL,
    code                 VARCHAR NOT NULL,
    position             INTEGER NOT NULL,
    label                VARCHAR NOT NULL,
    description          VARCHAR NOT NULL,
    family               VARCHAR NOT NULL DEFAULT '',
    method               VARCHAR NOT NULL CHECK (method IN ('sum', 'mean')),
    direction            VARCHAR NOT NULL CHECK (direction IN ('higher_better', 'higher_worse')),
    -- Share of the scale's items that must be answered for a score.
    min_answered         DOUBLE NOT NULL,
    prorate              BOOLEAN NOT NULL,
    -- The SD used for the standard error (Jacobson & Truax: a clinical sample's).
    sd                   DOUBLE,
    reliability          DOUBLE,
    reliability_type     VARCHAR,
    reliability_source   VARCHAR,
    published_rc         DOUBLE,
    published_rc_source  VARCHAR,
    cutoff               DOUBLE,
    cutoff_source        VARCHAR,
    clinical_mean        DOUBLE,
    clinical_sd          DOUBLE,
    functional_mean      DOUBLE,
    functional_sd        DOUBLE,
    norms_source         VARCHAR,
    PRIMARY KEY (instrument_id, code)
);
INSERT INTO scales (instrument_id, code, position, label, description, family, method,
                    direction, min_answered, prorate, sd, reliability, reliability_type,
                    reliability_source, clinical_mean, clinical_sd, functional_mean,
                    functional_sd, norms_source)
SELECT c.instrument_id, c.code, row_number() OVER (PARTITION BY c.instrument_id ORDER BY c.code),
       c.label, coalesce(json_extract_string(d.j, '$.description'), ''), c.family, 'mean',
       c.direction,
       least(1.0, c.min_items / (SELECT count(*) FROM items i
                                 WHERE i.instrument_id = c.instrument_id
                                   AND i.construct = c.code)),
       TRUE,
       TRY_CAST(json_extract_string(d.j, '$.sd') AS DOUBLE),
       TRY_CAST(json_extract_string(d.j, '$.reliability') AS DOUBLE), 'provisional',
       'Release 1 check-in (provisional figures).',
       TRY_CAST(json_extract_string(d.j, '$.clinical_mean') AS DOUBLE),
       TRY_CAST(json_extract_string(d.j, '$.clinical_sd') AS DOUBLE),
       TRY_CAST(json_extract_string(d.j, '$.functional_mean') AS DOUBLE),
       TRY_CAST(json_extract_string(d.j, '$.functional_sd') AS DOUBLE),
       'Release 1 check-in (provisional figures).'
FROM constructs c
LEFT JOIN (SELECT id AS instrument_id,
                  unnest(CAST(json_extract(definition, '$.constructs') AS JSON[])) AS j
           FROM instruments) d
  ON d.instrument_id = c.instrument_id AND json_extract_string(d.j, '$.code') = c.code
WHERE c.family <> 'safety';

CREATE TABLE scale_items (
    instrument_id  INTEGER NOT NULL,
    scale_code     VARCHAR NOT NULL,
    item_id        INTEGER NOT NULL,
    PRIMARY KEY (instrument_id, scale_code, item_id)
);
INSERT INTO scale_items (instrument_id, scale_code, item_id)
SELECT i.instrument_id, i.construct, i.id FROM items i WHERE NOT i.is_safety;

-- Labelled score ranges: lower inclusive, upper exclusive (NULL for the top band).
CREATE TABLE scale_bands (
    instrument_id  INTEGER NOT NULL,
    scale_code     VARCHAR NOT NULL,
    position       INTEGER NOT NULL,
    label          VARCHAR NOT NULL,
    lower          DOUBLE NOT NULL,
    upper          DOUBLE,
    meaning        VARCHAR NOT NULL,
    PRIMARY KEY (instrument_id, scale_code, position)
);

DROP TABLE items;
ALTER TABLE items_v2 RENAME TO items;
DROP TABLE constructs;

-- Free-text answers ("what would you like to talk about next session?"). Confidential: never
-- logged, never in a message. No primary key, like answers: written only with a new response.
CREATE TABLE text_answers (
    response_id  BIGINT NOT NULL,
    item_id      INTEGER NOT NULL,
    text         VARCHAR NOT NULL
);

-- Free-text answers of rows waiting in the unmatched queue.
ALTER TABLE unmatched_responses ADD COLUMN texts JSON;

-- A therapist's record that safety was assessed. It acknowledges every positive safety answer
-- stored up to `covers_response_id` for the couple; a later positive answer raises the flag again.
CREATE SEQUENCE IF NOT EXISTS seq_safety_reviews START 1;
CREATE TABLE safety_reviews (
    id                  INTEGER PRIMARY KEY DEFAULT nextval('seq_safety_reviews'),
    couple_id           INTEGER NOT NULL,
    assessed_on         DATE NOT NULL,
    assessed_by         INTEGER,
    note                VARCHAR NOT NULL,
    covers_response_id  BIGINT NOT NULL,
    created_at          TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- Practice-wide thresholds, changed by a supervisor on the Settings page.
CREATE TABLE practice_settings (
    key         VARCHAR PRIMARY KEY,
    value       DOUBLE NOT NULL,
    updated_by  INTEGER,
    updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);
INSERT INTO practice_settings (key, value) VALUES
    ('overdue_days', 14),
    ('no_improvement_checkins', 6);

CREATE INDEX IF NOT EXISTS idx_safety_reviews_couple ON safety_reviews (couple_id);

-- ---------------------------------------------------------------------------------------------
-- Per-response facts, stored by the one writer of responses (analytics/practice/responses.py) in
-- the transaction that stores the answers. A response's answers never change, and a version's
-- definition is frozen once it has responses (analytics/instruments/sync.py), so a stored fact is
-- never stale. The views below that compute them are their one definition.

-- Per scale of every stored version: how many items, the lowest and highest score, and how many
-- items must be answered for a score (all of them without proration).
CREATE OR REPLACE VIEW scale_ranges AS
SELECT k.instrument_id, k.code AS scale_code, count(*) AS n_items,
       CASE WHEN any_value(k.method) = 'sum' THEN sum(i.min_value) ELSE avg(i.min_value) END
           AS score_min,
       CASE WHEN any_value(k.method) = 'sum' THEN sum(i.max_value) ELSE avg(i.max_value) END
           AS score_max,
       CAST(CASE WHEN any_value(k.prorate)
                 THEN greatest(1, ceil(any_value(k.min_answered) * count(*) - 1e-9))
                 ELSE count(*) END AS INTEGER) AS n_needed
FROM scales k
JOIN scale_items si ON si.instrument_id = k.instrument_id AND si.scale_code = k.code
JOIN items i ON i.id = si.item_id
GROUP BY k.instrument_id, k.code;

-- Scale scores computed from answers: reverse keys ((min + max) - answer) and each item's own
-- range are applied here and nowhere else. Mean scales average the answered items; sum scales
-- prorate (sum x items / answered). No score when fewer than n_needed are answered.
-- The one definition, over any answers (response_id, item_id, value) and responses (id,
-- partner_id, instrument_id, completed_at): the stored tables (the view below), or the batch the
-- writer is storing (analytics/practice/responses.py), read while still in memory.
CREATE OR REPLACE MACRO scale_scores_of(answer_rows, response_rows) AS TABLE
WITH answered AS (
    SELECT a.response_id, si.instrument_id, si.scale_code, count(*) AS n_answered,
           sum(CASE WHEN i.reverse THEN i.min_value + i.max_value - a.value ELSE a.value END)
               AS keyed_sum
    FROM query_table(answer_rows) a
    JOIN scale_items si ON si.item_id = a.item_id
    JOIN items i ON i.id = a.item_id
    GROUP BY a.response_id, si.instrument_id, si.scale_code
)
SELECT r.id AS response_id, r.partner_id, p.couple_id, p.label AS partner, r.instrument_id,
       v.code AS instrument_code, n.scale_code, CAST(r.completed_at AS TIMESTAMP) AS completed_at,
       CAST(n.n_answered AS INTEGER) AS n_answered,
       CAST(g.n_items AS INTEGER) AS n_items, n.n_answered < g.n_items AS prorated,
       CASE WHEN k.method = 'mean' THEN n.keyed_sum / n.n_answered
            ELSE n.keyed_sum * g.n_items / n.n_answered END AS score
FROM answered n
JOIN query_table(response_rows) r ON r.id = n.response_id AND r.instrument_id = n.instrument_id
JOIN partners p ON p.id = r.partner_id
JOIN instruments v ON v.id = r.instrument_id
JOIN scales k ON k.instrument_id = n.instrument_id AND k.code = n.scale_code
JOIN scale_ranges g ON g.instrument_id = n.instrument_id AND g.scale_code = n.scale_code
WHERE n.n_answered >= g.n_needed;

CREATE OR REPLACE VIEW scale_scores_from_answers AS
SELECT * FROM scale_scores_of('answers', 'responses');

-- Every safety item of every response: answered or not, and whether the answer is positive
-- (at or above the item's threshold). Safety answers are never averaged into anything.
CREATE OR REPLACE MACRO safety_items_of(answer_rows, response_rows) AS TABLE
SELECT r.id AS response_id, r.partner_id, p.couple_id, p.label AS partner, r.instrument_id,
       i.id AS item_id, CAST(r.completed_at AS TIMESTAMP) AS completed_at, a.value,
       a.value >= i.threshold AS positive
FROM query_table(response_rows) r
JOIN partners p ON p.id = r.partner_id
JOIN items i ON i.instrument_id = r.instrument_id AND i.kind = 'safety'
LEFT JOIN query_table(answer_rows) a ON a.response_id = r.id AND a.item_id = i.id;

CREATE OR REPLACE VIEW safety_items_from_answers AS
SELECT * FROM safety_items_of('answers', 'responses');

CREATE TABLE response_scores (
    response_id    BIGINT NOT NULL,
    partner_id     INTEGER NOT NULL,
    couple_id      INTEGER NOT NULL,
    partner        VARCHAR NOT NULL,
    instrument_id  INTEGER NOT NULL,
    -- The version's code, kept with the score (it never changes): change and gaps group all
    -- versions of an instrument together without joining every score to `instruments`.
    instrument_code VARCHAR NOT NULL,
    scale_code     VARCHAR NOT NULL,
    completed_at   TIMESTAMP NOT NULL,
    n_answered     INTEGER NOT NULL,
    n_items        INTEGER NOT NULL,
    prorated       BOOLEAN NOT NULL,
    score          DOUBLE NOT NULL
);
INSERT INTO response_scores SELECT * FROM scale_scores_from_answers;

CREATE TABLE response_safety (
    response_id    BIGINT NOT NULL,
    partner_id     INTEGER NOT NULL,
    couple_id      INTEGER NOT NULL,
    partner        VARCHAR NOT NULL,
    instrument_id  INTEGER NOT NULL,
    item_id        INTEGER NOT NULL,
    completed_at   TIMESTAMP NOT NULL,
    -- NULL: the item was not answered (never read as "no").
    value          DOUBLE,
    positive       BOOLEAN
);
INSERT INTO response_safety SELECT * FROM safety_items_from_answers;

-- ---------------------------------------------------------------------------------------------
-- The one access rule: the couples an actor may see. Every query touching couples joins it.
CREATE OR REPLACE MACRO visible_couples(sees_all, therapist) AS TABLE
    SELECT id AS couple_id FROM couples WHERE sees_all OR therapist_id = therapist;

-- The couples a clinical query covers: those the actor may see, or the ones of them listed in
-- `couples` (an INTEGER[]; NULL for all). Every clinical macro below starts from it, so no number
-- is ever computed for a couple the actor may not see, and the work follows the caseload shown,
-- not the practice's size. Each macro writes its filter as
--   (sees_all AND couples IS NULL) OR couple_id IN (SELECT couple_id FROM couples_in_scope(...))
-- so that, for someone who sees every couple and asks for all of them, the bound constants fold
-- the filter away instead of semi-joining every score against the whole practice.
CREATE OR REPLACE MACRO couples_in_scope(sees_all, therapist, couples) AS TABLE
    SELECT couple_id FROM visible_couples(sees_all, therapist)
    WHERE couples IS NULL OR list_contains(couples, couple_id);

-- Per scale: the reliable-change and cutoff criteria (Jacobson & Truax 1991), and their source.
--   SE = sd * sqrt(1 - reliability); Sdiff = sqrt(2) * SE; a change is reliable when
--   |change| / Sdiff > 1.96, so the smallest reliable change is 1.96 * Sdiff. A published
--   reliable-change value R stands in for 1.96 * Sdiff (Sdiff = R / 1.96).
--   Cutoffs, for "higher is worse" (mirrored when higher is better): a = M_clin - 2 SD_clin,
--   b = M_func + 2 SD_func, c = (SD_clin * M_func + SD_func * M_clin) / (SD_clin + SD_func).
--   Used: a declared cutoff, else c, else a, else b.
CREATE OR REPLACE VIEW scale_criteria AS
WITH base AS (
    SELECT k.*, r.n_items, r.n_needed, r.score_min, r.score_max,
           CASE WHEN k.direction = 'higher_better' THEN 1 ELSE -1 END AS better_sign,
           coalesce(k.sd, k.clinical_sd) AS sd_used,
           coalesce(k.sd, k.clinical_sd) * sqrt(1 - k.reliability) AS se
    FROM scales k
    JOIN scale_ranges r ON r.instrument_id = k.instrument_id AND r.scale_code = k.code
), derived AS (
    SELECT *,
           CASE WHEN published_rc IS NOT NULL THEN published_rc / 1.96
                ELSE sqrt(2) * se END AS sdiff,
           CASE WHEN clinical_mean IS NOT NULL
                THEN clinical_mean + better_sign * 2 * clinical_sd END AS cutoff_a,
           CASE WHEN functional_mean IS NOT NULL
                THEN functional_mean - better_sign * 2 * functional_sd END AS cutoff_b,
           CASE WHEN clinical_mean IS NOT NULL AND functional_mean IS NOT NULL
                THEN (clinical_sd * functional_mean + functional_sd * clinical_mean)
                     / (clinical_sd + functional_sd) END AS cutoff_c
    FROM base
)
SELECT *,
       coalesce(published_rc, 1.96 * sdiff) AS rc_points,
       CASE WHEN published_rc IS NOT NULL THEN 'published'
            WHEN sdiff IS NOT NULL THEN 'jacobson_truax' END AS rc_method,
       CASE WHEN published_rc IS NOT NULL THEN published_rc_source
            WHEN sdiff IS NOT NULL THEN reliability_source END AS rc_source,
       coalesce(cutoff, cutoff_c, cutoff_a, cutoff_b) AS cutoff_used,
       CASE WHEN cutoff IS NOT NULL THEN 'declared'
            WHEN cutoff_c IS NOT NULL THEN 'jacobson_truax_c'
            WHEN cutoff_a IS NOT NULL THEN 'jacobson_truax_a'
            WHEN cutoff_b IS NOT NULL THEN 'jacobson_truax_b' END AS cutoff_method,
       CASE WHEN cutoff IS NOT NULL THEN cutoff_source
            WHEN coalesce(cutoff_c, cutoff_a, cutoff_b) IS NOT NULL THEN norms_source
       END AS cutoff_from
FROM derived;

-- Scores per response and scale, without the band: what change and gaps aggregate (the band
-- is looked up only where it is shown, so the large aggregations skip that join).
CREATE OR REPLACE MACRO scope_scores(sees_all, therapist, couples) AS TABLE
SELECT s.*
FROM response_scores s
WHERE (sees_all AND couples IS NULL)
   OR s.couple_id IN (SELECT couple_id FROM couples_in_scope(sees_all, therapist, couples));

-- Scores per response and scale, with the band the score falls in. (`upper IS NULL` written as
-- an infinite upper bound keeps this a hash join rather than a nested loop.)
CREATE OR REPLACE MACRO scale_scores(sees_all, therapist, couples) AS TABLE
SELECT s.*, b.label AS band, b.meaning AS band_meaning
FROM scope_scores(sees_all, therapist, couples) s
LEFT JOIN scale_bands b
  ON b.instrument_id = s.instrument_id AND b.scale_code = s.scale_code
 AND s.score >= b.lower AND s.score < coalesce(b.upper, 'infinity');

-- Per partner, instrument (all its versions) and scale: baseline (first score), latest, change,
-- reliable change index, category, and the criteria used (from the newest version answered).
-- Categories: not_enough_data (fewer than two scores), no_reliable_change_figure, recovered
-- (reliable improvement from the distressed side of the cutoff across it), improved,
-- deteriorated (reliable worsening), unchanged. Direction-aware throughout.
-- scale_change is these numbers; partner_scale_change (below) adds the bands of the baseline and
-- the latest score. The caseload and the flags read scale_change, which skips the band lookup
-- and, with `scales` (a VARCHAR[]; NULL for all), works on those scales only.
CREATE OR REPLACE MACRO scale_change(sees_all, therapist, couples, scales := NULL) AS TABLE
WITH ends AS (
    -- partner_id alone names the couple and the partner: fewer grouping keys, same groups.
    SELECT any_value(couple_id) AS couple_id, any_value(partner) AS partner, partner_id,
           instrument_code, scale_code,
           count(*) AS n_scores,
           arg_min(score, completed_at) AS baseline,
           min(completed_at) AS baseline_at,
           arg_max(score, completed_at) AS latest,
           max(completed_at) AS latest_at,
           max(instrument_id) AS instrument_id
    FROM scope_scores(sees_all, therapist, couples)
    WHERE scales IS NULL OR list_contains(scales, scale_code)
    GROUP BY partner_id, instrument_code, scale_code
), measured AS (
    SELECT e.*, k.label AS scale_label, k.family, k.position, k.direction, k.better_sign,
           k.score_min, k.score_max, k.sdiff, k.rc_points, k.rc_method, k.rc_source,
           k.cutoff_used, k.cutoff_method, k.cutoff_from,
           -- No change before a second score: one score is a baseline, not a change of 0.
           CASE WHEN e.n_scores >= 2 THEN e.latest - e.baseline END AS change,
           CASE WHEN e.n_scores >= 2 THEN (e.latest - e.baseline) / k.sdiff END AS rci,
           CASE WHEN e.n_scores >= 2
                THEN k.better_sign * (e.latest - e.baseline) / k.sdiff END AS improvement_index,
           -- "Distressed": the side of the cutoff away from better.
           k.better_sign * (e.baseline - k.cutoff_used) < 0 AS baseline_distressed,
           k.better_sign * (e.latest - k.cutoff_used) < 0 AS latest_distressed
    FROM ends e
    JOIN scale_criteria k ON k.instrument_id = e.instrument_id AND k.code = e.scale_code
)
SELECT *,
       n_scores >= 2 AND sdiff IS NOT NULL AND abs(rci) > 1.96 AS reliable,
       CASE WHEN n_scores < 2 THEN 'not_enough_data'
            WHEN sdiff IS NULL THEN 'no_reliable_change_figure'
            WHEN improvement_index > 1.96 AND baseline_distressed AND NOT latest_distressed
                THEN 'recovered'
            WHEN improvement_index > 1.96 THEN 'improved'
            WHEN improvement_index < -1.96 THEN 'deteriorated'
            ELSE 'unchanged' END AS category
FROM measured;

CREATE OR REPLACE MACRO partner_scale_change(sees_all, therapist, couples) AS TABLE
WITH bands AS (
    -- As arg_min/arg_max skip NULLs, a band is that of the first (last) score that has one.
    SELECT couple_id, partner, instrument_code, scale_code,
           arg_min(band, completed_at) AS baseline_band,
           arg_max(band, completed_at) AS latest_band,
           arg_max(band_meaning, completed_at) AS latest_band_meaning
    FROM scale_scores(sees_all, therapist, couples)
    GROUP BY couple_id, partner, instrument_code, scale_code
)
SELECT x.couple_id, x.partner, x.partner_id, x.instrument_code, x.scale_code, x.n_scores,
       x.baseline, x.baseline_at, b.baseline_band, x.latest, x.latest_at, b.latest_band,
       b.latest_band_meaning, x.instrument_id,
       x.* EXCLUDE (couple_id, partner, partner_id, instrument_code, scale_code, n_scores,
                    baseline, baseline_at, latest, latest_at, instrument_id)
FROM scale_change(sees_all, therapist, couples) x
JOIN bands b USING (couple_id, partner, instrument_code, scale_code);

-- Both partners' scores per scale in each week they both checked in (ISO weeks, Monday first;
-- a partner's last response of the week counts), and the gap between them (A minus B).
-- One pass: each week's row carries both partners' last score (NULL when one did not answer).
CREATE OR REPLACE MACRO couple_weekly_gaps(sees_all, therapist, couples) AS TABLE
WITH weekly AS (
    SELECT couple_id, instrument_code, scale_code,
           CAST(date_trunc('week', completed_at) AS DATE) AS week,
           arg_max(score, completed_at) FILTER (WHERE partner = 'A') AS score_a,
           arg_max(score, completed_at) FILTER (WHERE partner = 'B') AS score_b,
           -- Criteria come from the newest version answered (ids only grow with new versions).
           max(instrument_id) AS instrument_id
    FROM scope_scores(sees_all, therapist, couples)
    GROUP BY couple_id, instrument_code, scale_code,
             CAST(date_trunc('week', completed_at) AS DATE)
)
SELECT couple_id, instrument_code, scale_code, week, score_a, score_b, score_a - score_b AS gap,
       abs(score_a - score_b) AS gap_size, instrument_id
FROM weekly
WHERE score_a IS NOT NULL AND score_b IS NOT NULL;

-- Per couple and scale: the latest week both partners checked in, their scores and the gap, and
-- whether it is wider than the smallest reliable change. What the partner-gap flag needs (the
-- trend below is for the couple page).
CREATE OR REPLACE MACRO couple_latest_gaps(sees_all, therapist, couples) AS TABLE
WITH latest AS (
    SELECT couple_id, instrument_code, scale_code, max(week) AS latest_week,
           arg_max(score_a, week) AS latest_a, arg_max(score_b, week) AS latest_b,
           max(instrument_id) AS instrument_id
    FROM couple_weekly_gaps(sees_all, therapist, couples)
    GROUP BY couple_id, instrument_code, scale_code
)
SELECT s.*, s.latest_a - s.latest_b AS latest_gap, abs(s.latest_a - s.latest_b) AS latest_gap_size,
       k.label AS scale_label, k.position, k.family, k.rc_points,
       k.rc_points IS NOT NULL AND abs(s.latest_a - s.latest_b) > k.rc_points AS exceeds_noise
FROM latest s
JOIN scale_criteria k ON k.instrument_id = s.instrument_id AND k.code = s.scale_code;

-- Per couple and scale: the latest paired week's gap, how the gap moved (first paired week to
-- latest, and its slope per week), and whether it is wider than the smallest reliable change:
-- the partners see it differently beyond measurement noise.
CREATE OR REPLACE MACRO couple_scale_gaps(sees_all, therapist, couples) AS TABLE
WITH summary AS (
    SELECT couple_id, instrument_code, scale_code,
           count(*) AS paired_weeks,
           arg_min(gap, week) AS first_gap,
           arg_max(gap, week) AS latest_gap,
           arg_max(score_a, week) AS latest_a,
           arg_max(score_b, week) AS latest_b,
           max(week) AS latest_week,
           regr_slope(gap_size, epoch(week) / 604800.0) AS gap_trend_per_week,
           max(instrument_id) AS instrument_id
    FROM couple_weekly_gaps(sees_all, therapist, couples)
    GROUP BY couple_id, instrument_code, scale_code
)
SELECT s.*, abs(s.latest_gap) AS latest_gap_size, abs(s.first_gap) AS first_gap_size,
       k.label AS scale_label, k.position, k.family, k.rc_points,
       k.rc_points IS NOT NULL AND abs(s.latest_gap) > k.rc_points AS exceeds_noise
FROM summary s
JOIN scale_criteria k ON k.instrument_id = s.instrument_id AND k.code = s.scale_code;

-- Every positive safety answer, with the item and the answer given, and whether a safety review
-- already acknowledges it.
CREATE OR REPLACE MACRO safety_answers(sees_all, therapist, couples) AS TABLE
SELECT s.couple_id, s.partner, s.response_id, s.completed_at, v.code AS instrument_code,
       i.code AS item, coalesce(i.label, i.text, i.code) AS item_name, s.value,
       coalesce(i.labels[CAST(s.value - i.min_value AS INTEGER) + 1],
                CAST(s.value AS VARCHAR)) AS answer,
       s.response_id <= coalesce(w.covers, 0) AS acknowledged
FROM response_safety s
JOIN items i ON i.id = s.item_id
JOIN instruments v ON v.id = s.instrument_id
LEFT JOIN (SELECT couple_id, max(covers_response_id) AS covers FROM safety_reviews
           GROUP BY couple_id) w ON w.couple_id = s.couple_id
WHERE s.positive
  AND ((sees_all AND couples IS NULL)
       OR s.couple_id IN (SELECT couple_id FROM couples_in_scope(sees_all, therapist, couples)));

-- The flags that put a couple on the therapist's list, safety always first. One row per couple
-- and kind: severity, a plain-language reason, and the numbers behind it (JSON). Thresholds are
-- practice settings. rank: 1 safety, 2 reliable deterioration, 3 partner gap, 4 no reliable
-- improvement, 5 check-in overdue.
CREATE OR REPLACE MACRO couple_flags(sees_all, therapist, couples, as_of) AS TABLE
WITH settings AS (
    SELECT max(value) FILTER (WHERE key = 'overdue_days') AS overdue_days,
           max(value) FILTER (WHERE key = 'no_improvement_checkins') AS min_checkins
    FROM practice_settings
), change AS MATERIALIZED (
    SELECT * FROM scale_change(sees_all, therapist, couples)
), safety AS (
    SELECT couple_id, count(*) AS n,
           first(partner ORDER BY completed_at DESC, item) AS who,
           first(answer ORDER BY completed_at DESC, item) AS answer,
           first(item_name ORDER BY completed_at DESC, item) AS item_name,
           max(completed_at) AS answered_at,
           to_json(list({'partner': partner, 'item': item, 'item_name': item_name,
                         'answer': answer, 'value': value, 'completed_at': completed_at}
                        ORDER BY completed_at DESC, item)) AS details
    FROM safety_answers(sees_all, therapist, couples)
    WHERE NOT acknowledged
    GROUP BY couple_id
), worse AS (
    -- Partner breaks the tie when both fell by as much on the same scale (a stable reason).
    SELECT couple_id, count(*) AS n,
           first(partner ORDER BY improvement_index, position, partner) AS who,
           first(scale_label ORDER BY improvement_index, position, partner) AS scale_label,
           first(baseline ORDER BY improvement_index, position, partner) AS baseline,
           first(latest ORDER BY improvement_index, position, partner) AS latest,
           first(rc_points ORDER BY improvement_index, position, partner) AS rc_points,
           to_json(list({'partner': partner, 'instrument': instrument_code,
                         'scale': scale_code, 'scale_label': scale_label,
                         'baseline': baseline, 'latest': latest, 'change': change,
                         'rc_points': rc_points, 'rci': rci}
                        ORDER BY improvement_index, position, partner)) AS details
    FROM change
    WHERE category = 'deteriorated'
    GROUP BY couple_id
), apart AS (
    SELECT couple_id, count(*) AS n,
           first(scale_label ORDER BY latest_gap_size / rc_points DESC, position) AS scale_label,
           first(latest_a ORDER BY latest_gap_size / rc_points DESC, position) AS a,
           first(latest_b ORDER BY latest_gap_size / rc_points DESC, position) AS b,
           first(latest_gap_size ORDER BY latest_gap_size / rc_points DESC, position) AS gap,
           first(rc_points ORDER BY latest_gap_size / rc_points DESC, position) AS rc_points,
           first(latest_week ORDER BY latest_gap_size / rc_points DESC, position) AS week,
           to_json(list({'instrument': instrument_code, 'scale': scale_code,
                         'scale_label': scale_label, 'week': latest_week, 'a': latest_a,
                         'b': latest_b, 'gap': latest_gap, 'rc_points': rc_points}
                        ORDER BY latest_gap_size / rc_points DESC, position)) AS details
    FROM couple_latest_gaps(sees_all, therapist, couples)
    WHERE exceeds_noise
    GROUP BY couple_id
), flat_partners AS (
    SELECT x.couple_id, x.partner, x.scale_label, x.n_scores, x.baseline, x.latest,
           x.instrument_code, x.scale_code
    FROM change x
    JOIN instruments v ON v.id = x.instrument_id
    WHERE x.scale_code = v.headline AND x.category = 'unchanged'
      AND x.n_scores >= (SELECT min_checkins FROM settings)
      -- A partner already in the non-distressed range has no improvement left to miss.
      AND coalesce(x.latest_distressed, TRUE)
), flat AS (
    SELECT couple_id, count(*) AS n,
           string_agg('Partner ' || partner || ': no reliable improvement in ' || scale_label
                      || ' after ' || n_scores || ' check-ins (' || printf('%.1f', baseline)
                      || ' at the start, ' || printf('%.1f', latest) || ' now).', ' '
                      ORDER BY partner) AS reason,
           to_json(list({'partner': partner, 'instrument': instrument_code,
                         'scale': scale_code, 'scale_label': scale_label,
                         'checkins': n_scores, 'baseline': baseline, 'latest': latest}
                        ORDER BY partner)) AS details
    FROM flat_partners
    GROUP BY couple_id
), last_seen AS (
    SELECT c.id AS couple_id, p.label AS partner, c.start_date, r.last_at,
           date_diff('day', CAST(coalesce(r.last_at, c.start_date) AS DATE),
                     CAST(as_of AS DATE)) AS days
    FROM couples c
    JOIN partners p ON p.couple_id = c.id
    LEFT JOIN (SELECT partner_id, max(completed_at) AS last_at FROM responses
               WHERE (sees_all AND couples IS NULL)
                  OR partner_id IN (SELECT p2.id FROM partners p2 WHERE p2.couple_id IN
                      (SELECT couple_id FROM couples_in_scope(sees_all, therapist, couples)))
               GROUP BY partner_id) r ON r.partner_id = p.id
    WHERE c.status = 'active'
      AND ((sees_all AND couples IS NULL)
           OR c.id IN (SELECT couple_id FROM couples_in_scope(sees_all, therapist, couples)))
), late AS (
    SELECT couple_id, count(*) AS n, min(days) AS days, max(last_at) AS last_at,
           any_value(start_date) AS start_date, min(partner) AS who,
           to_json(list({'partner': partner, 'last_checkin': last_at, 'days': days}
                        ORDER BY partner)) AS details
    FROM last_seen
    WHERE days > (SELECT overdue_days FROM settings)
    GROUP BY couple_id
)
SELECT couple_id, 'safety' AS kind, 'urgent' AS severity, 1 AS rank,
       CASE WHEN n > 1 THEN n || ' positive safety answers since safety was last assessed. '
            || 'The latest: p' ELSE 'P' END
       || 'artner ' || who || ' answered “' || answer || '” to “' || item_name || '” on '
       || strftime(answered_at, '%-d %b %Y') || '.' AS reason,
       details
FROM safety
UNION ALL
SELECT couple_id, 'deterioration', 'high', 2,
       'Partner ' || who || ': ' || scale_label
       || CASE WHEN latest < baseline THEN ' fell' ELSE ' rose' END
       || ' from ' || printf('%.1f', baseline) || ' to ' || printf('%.1f', latest) || ', by '
       || printf('%.2f', abs(latest - baseline)) || ' points: more than the '
       || printf('%.2f', rc_points) || ' that measurement noise explains.'
       || CASE WHEN n > 1 THEN ' ' || (n - 1) || ' more scale result'
               || CASE WHEN n > 2 THEN 's' ELSE '' END || ' also got worse beyond noise.'
               ELSE '' END,
       details
FROM worse
UNION ALL
SELECT couple_id, 'gap', 'medium', 3,
       'Partners see ' || scale_label || ' differently: A ' || printf('%.1f', a) || ', B '
       || printf('%.1f', b) || ' in the week of ' || strftime(week, '%-d %b %Y') || ', '
       || printf('%.2f', gap) || ' points apart: more than the ' || printf('%.2f', rc_points)
       || ' that measurement noise explains.'
       || CASE WHEN n > 1 THEN ' ' || (n - 1) || ' more scale'
               || CASE WHEN n > 2 THEN 's' ELSE '' END || ' also differ'
               || CASE WHEN n > 2 THEN '' ELSE 's' END || ' beyond noise.'
               ELSE '' END,
       details
FROM apart
UNION ALL
SELECT couple_id, 'no_improvement', 'medium', 4, reason, details
FROM flat
UNION ALL
SELECT couple_id, 'overdue', 'low', 5,
       CASE WHEN last_at IS NULL AND n = 2
                THEN 'No check-ins yet, ' || days || ' days after the start on '
                     || strftime(start_date, '%-d %b %Y') || '.'
            WHEN n = 2
                THEN 'No check-in from either partner for ' || days || ' days (the last on '
                     || strftime(last_at, '%-d %b %Y') || ').'
            WHEN last_at IS NULL
                THEN 'Partner ' || who || ' has not checked in yet, ' || days
                     || ' days after the start on ' || strftime(start_date, '%-d %b %Y') || '.'
            ELSE 'No check-in from partner ' || who || ' for ' || days || ' days (the last on '
                 || strftime(last_at, '%-d %b %Y') || ').' END,
       details
FROM late;
