-- Reliable change check-in by check-in. The change categories get one definition
-- (`change_category`), which scale_change (first check-in to latest, as in 002) and the new
-- `checkin_change` (first check-in to each later one) both use, so the progress chart can mark
-- the check-in where a reliable change happened with the same rule the flags and tables use.

-- Categories: not_enough_data (fewer than two scores), no_reliable_change_figure, recovered
-- (reliable improvement from the distressed side of the cutoff across it), improved,
-- deteriorated (reliable worsening), unchanged. Jacobson & Truax: |RCI| > 1.96, direction-aware
-- through the improvement index (better_sign x change / sdiff).
CREATE OR REPLACE MACRO change_category(n_scores, sdiff, improvement_index, baseline_distressed,
                                        latest_distressed) AS
    CASE WHEN n_scores < 2 THEN 'not_enough_data'
         WHEN sdiff IS NULL THEN 'no_reliable_change_figure'
         WHEN improvement_index > 1.96 AND baseline_distressed AND NOT latest_distressed
             THEN 'recovered'
         WHEN improvement_index > 1.96 THEN 'improved'
         WHEN improvement_index < -1.96 THEN 'deteriorated'
         ELSE 'unchanged' END;

-- As in 002, with the categories from change_category.
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
       change_category(n_scores, sdiff, improvement_index, baseline_distressed,
                       latest_distressed) AS category
FROM measured;

-- Per partner, instrument (all its versions), scale and check-in: the change from the partner's
-- first score to this one, judged as scale_change judges the latest (criteria of the newest
-- version the partner answered on that scale), and the category at the check-in before (NULL
-- at the first). A check-in whose category is reliable and differs from the one before is where
-- that reliable change happened. The last row of each partner-scale is scale_change's row.
CREATE OR REPLACE MACRO checkin_change(sees_all, therapist, couples, scales := NULL) AS TABLE
WITH steps AS (
    SELECT couple_id, partner, partner_id, instrument_code, scale_code, response_id,
           completed_at, score,
           first_value(score) OVER w AS baseline,
           row_number() OVER w AS n_scores,
           max(instrument_id) OVER (PARTITION BY partner_id, instrument_code, scale_code)
               AS criteria_id
    FROM scope_scores(sees_all, therapist, couples)
    WHERE scales IS NULL OR list_contains(scales, scale_code)
    WINDOW w AS (PARTITION BY partner_id, instrument_code, scale_code
                 ORDER BY completed_at, response_id)
), measured AS (
    SELECT s.*, k.sdiff, k.rc_points, k.cutoff_used,
           CASE WHEN s.n_scores >= 2 THEN s.score - s.baseline END AS change,
           CASE WHEN s.n_scores >= 2
                THEN k.better_sign * (s.score - s.baseline) / k.sdiff END AS improvement_index,
           k.better_sign * (s.baseline - k.cutoff_used) < 0 AS baseline_distressed,
           k.better_sign * (s.score - k.cutoff_used) < 0 AS distressed
    FROM steps s
    JOIN scale_criteria k ON k.instrument_id = s.criteria_id AND k.code = s.scale_code
), judged AS (
    SELECT *, change_category(n_scores, sdiff, improvement_index, baseline_distressed,
                              distressed) AS category
    FROM measured
)
SELECT *, lag(category) OVER (PARTITION BY partner_id, instrument_code, scale_code
                              ORDER BY completed_at, response_id) AS previous_category
FROM judged;
