-- 004: a safety screen left blank is never read as "no". A response with any safety item
-- unanswered (blank, or missing from the export) is stored as it was given - its unanswered
-- items are rows of response_safety with value NULL (migration 002) - and raises a caseload flag
-- of its own, "safety screen not answered", ranked directly below positive safety answers.
-- A recorded safety assessment acknowledges it the way it acknowledges positive answers.
--
-- Only macros change: no table, no stored row. From here on, the definitions below replace
-- those of migration 002 (safety_answers, couple_flags); 002's text is history.

-- The one acknowledgement rule: per couple, the newest response a safety review covers. A
-- positive answer or an unanswered safety item of a response up to it is acknowledged; a later
-- one raises its flag again. (Response ids grow with every stored response.)
CREATE OR REPLACE MACRO safety_covered() AS TABLE
SELECT couple_id, max(covers_response_id) AS covers
FROM safety_reviews
GROUP BY couple_id;

-- Every positive safety answer, with the item and the answer given, and whether a safety review
-- already acknowledges it. (As in 002, with the acknowledgement rule above.)
CREATE OR REPLACE MACRO safety_answers(sees_all, therapist, couples) AS TABLE
SELECT s.couple_id, s.partner, s.response_id, s.completed_at, v.code AS instrument_code,
       i.code AS item, coalesce(i.label, i.text, i.code) AS item_name, s.value,
       coalesce(i.labels[CAST(s.value - i.min_value AS INTEGER) + 1],
                CAST(s.value AS VARCHAR)) AS answer,
       s.response_id <= coalesce(w.covers, 0) AS acknowledged
FROM response_safety s
JOIN items i ON i.id = s.item_id
JOIN instruments v ON v.id = s.instrument_id
LEFT JOIN safety_covered() w ON w.couple_id = s.couple_id
WHERE s.positive
  AND ((sees_all AND couples IS NULL)
       OR s.couple_id IN (SELECT couple_id FROM couples_in_scope(sees_all, therapist, couples)));

-- Every response whose safety screen was not (fully) answered: one row per response with at
-- least one safety item unanswered, how many of its safety items were left blank, which ones
-- (codes and names, in the instrument's order), and whether a safety review acknowledges it.
-- Instruments without safety items have no rows in response_safety, so never appear here.
CREATE OR REPLACE MACRO safety_unanswered(sees_all, therapist, couples) AS TABLE
WITH blank AS (
    -- Unanswered items are rare: find their responses first, and group only those (grouping
    -- every stored safety row cost a quarter of the caseload's time).
    SELECT DISTINCT response_id
    FROM response_safety
    WHERE value IS NULL
      AND ((sees_all AND couples IS NULL)
           OR couple_id IN (SELECT couple_id FROM couples_in_scope(sees_all, therapist, couples)))
)
SELECT s.couple_id, any_value(s.partner) AS partner, s.response_id,
       any_value(s.completed_at) AS completed_at, any_value(v.code) AS instrument_code,
       CAST(count(*) AS INTEGER) AS n_items,
       CAST(count(*) FILTER (WHERE s.value IS NULL) AS INTEGER) AS n_unanswered,
       list(i.code ORDER BY i.position) FILTER (WHERE s.value IS NULL) AS items,
       list(coalesce(i.label, i.text, i.code) ORDER BY i.position)
           FILTER (WHERE s.value IS NULL) AS item_names,
       s.response_id <= coalesce(any_value(w.covers), 0) AS acknowledged
FROM response_safety s
JOIN blank b ON b.response_id = s.response_id
JOIN items i ON i.id = s.item_id
JOIN instruments v ON v.id = s.instrument_id
LEFT JOIN safety_covered() w ON w.couple_id = s.couple_id
GROUP BY s.couple_id, s.response_id;

-- The flags that put a couple on the therapist's list, safety always first. One row per couple
-- and kind: severity, a plain-language reason, and the numbers behind it (JSON). Thresholds are
-- practice settings. rank: 1 safety (positive answers), 2 safety screen not answered,
-- 3 reliable deterioration, 4 partner gap, 5 no reliable improvement, 6 check-in overdue.
-- An unanswered screen is 'high', not 'urgent': nothing was disclosed, but nothing was ruled
-- out either, so it comes before every change in scores and asks for the same assessment.
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
), unanswered AS (
    -- The latest unanswered screen speaks for the couple; partner breaks a tie in time.
    SELECT couple_id, count(*) AS n,
           first(partner ORDER BY completed_at DESC, partner) AS who,
           first(n_unanswered ORDER BY completed_at DESC, partner) AS blank,
           first(n_items ORDER BY completed_at DESC, partner) AS n_items,
           max(completed_at) AS answered_at,
           to_json(list({'partner': partner, 'instrument': instrument_code,
                         'completed_at': completed_at, 'unanswered': n_unanswered,
                         'items': n_items, 'unanswered_items': items}
                        ORDER BY completed_at DESC, partner)) AS details
    FROM safety_unanswered(sees_all, therapist, couples)
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
SELECT couple_id, 'safety_unanswered', 'high', 2,
       CASE WHEN n > 1 THEN n || ' check-ins left safety questions unanswered since safety was '
            || 'last assessed. The latest: p' ELSE 'P' END
       || 'artner ' || who || ' left '
       || CASE WHEN n_items = 1 THEN 'the safety question'
               WHEN blank = n_items THEN 'all ' || n_items || ' safety questions'
               ELSE blank || ' of the ' || n_items || ' safety questions' END
       || ' unanswered on ' || strftime(answered_at, '%-d %b %Y') || '.',
       details
FROM unanswered
UNION ALL
SELECT couple_id, 'deterioration', 'high', 3,
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
SELECT couple_id, 'gap', 'medium', 4,
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
SELECT couple_id, 'no_improvement', 'medium', 5, reason, details
FROM flat
UNION ALL
SELECT couple_id, 'overdue', 'low', 6,
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
