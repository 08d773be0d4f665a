-- 005: repair after betrayal (issue 9). A couple may work on repair in one or more cases over
-- time (at most one open at a time: analytics/practice/repair.py keeps it so), each with a hurt
-- partner (the other partner is the involved one), a confidential description in the
-- therapist's words and a start date. The four milestones (acknowledgment; apology and repair;
-- rebuilding time; consistent reliability) change through an append-only history: every change
-- is a new row with the day it took effect (which may be earlier than the day it was entered),
-- who entered it and the therapist's evidence; apology and repair records the amends agreed,
-- rebuilding time the pace the hurt partner has set and when it was reviewed.
--
-- 001's repair_milestones (one status list without "revisited", one note for everything, no
-- pace) is folded in and dropped: its rows become the events of one case per couple. Then the
-- macros that are the one definition of a milestone's current state and of a stalled repair,
-- and couple_flags (as redefined by 004) with one more flag, "repair stalled".

CREATE SEQUENCE IF NOT EXISTS seq_repair_cases START 1;
CREATE TABLE repair_cases (
    id            INTEGER PRIMARY KEY DEFAULT nextval('seq_repair_cases'),
    couple_id     INTEGER NOT NULL,
    -- NULL only for a case carried over from 001 whose couple had no hurt partner recorded:
    -- guessing would name the wrong person as hurt. The Repair page asks for it; until then no
    -- trust evidence is shown and the trust stall rule cannot apply.
    hurt_partner  VARCHAR CHECK (hurt_partner IN ('A', 'B')),
    -- Confidential, the therapist's words: never logged, never in the audit.
    description   VARCHAR NOT NULL DEFAULT '',
    started_on    DATE NOT NULL,
    closed_on     DATE,
    created_by    INTEGER,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    CHECK (closed_on IS NULL OR closed_on >= started_on)
);

-- Append-only: analytics/practice/repair.py only ever INSERTs here. The current status of a
-- milestone is its row with the latest effective_on (ties: the later entered_at, then id).
-- Ids continue 001's seq_repair, so the rows carried over keep theirs.
CREATE TABLE repair_events (
    id                INTEGER PRIMARY KEY DEFAULT nextval('seq_repair'),
    case_id           INTEGER NOT NULL,
    milestone         INTEGER NOT NULL CHECK (milestone BETWEEN 1 AND 4),
    status            VARCHAR NOT NULL
                      CHECK (status IN ('not_started', 'in_progress', 'reached', 'revisited')),
    effective_on      DATE NOT NULL,
    entered_at        TIMESTAMP NOT NULL DEFAULT current_timestamp,
    entered_by        INTEGER,
    -- Free text (confidential): what the therapist saw; amends agreed (milestone 2); the pace
    -- the hurt partner has set (milestone 3), reviewed on pace_reviewed_on.
    evidence          VARCHAR,
    amends            VARCHAR,
    pace              VARCHAR,
    pace_reviewed_on  DATE
);

-- One case per couple that has milestone rows or is marked as working on repair. It starts on
-- the first recorded change (the start of therapy when there is none) and is open while the
-- couple is marked as working on repair; otherwise it closed on the last recorded change.
INSERT INTO repair_cases (couple_id, hurt_partner, description, started_on, closed_on, created_by,
                          created_at)
SELECT c.id, c.hurt_partner, '',
       coalesce(min(CAST(m.changed_at AS DATE)), c.start_date),
       CASE WHEN NOT c.repair_focus
            THEN coalesce(max(CAST(m.changed_at AS DATE)), c.start_date) END,
       arg_min(m.changed_by, m.changed_at),
       coalesce(min(m.changed_at), c.created_at)
FROM couples c
LEFT JOIN repair_milestones m ON m.couple_id = c.id
WHERE c.repair_focus OR m.id IS NOT NULL
GROUP BY c.id, c.hurt_partner, c.start_date, c.repair_focus, c.created_at
ORDER BY c.id;

INSERT INTO repair_events (id, case_id, milestone, status, effective_on, entered_at, entered_by,
                           evidence)
SELECT m.id, k.id, m.milestone, m.status, CAST(m.changed_at AS DATE), m.changed_at, m.changed_by,
       m.note
FROM repair_milestones m
JOIN repair_cases k ON k.couple_id = m.couple_id;

DROP TABLE repair_milestones;

INSERT INTO practice_settings (key, value) VALUES
    ('repair_stall_days', 56),
    ('pace_review_days', 28);

-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE MACRO repair_milestone_label(m) AS
    ['Acknowledgment', 'Apology and repair', 'Rebuilding time', 'Consistent reliability'][m];

CREATE OR REPLACE MACRO repair_status_label(s) AS
    CASE s WHEN 'not_started' THEN 'not started' WHEN 'in_progress' THEN 'in progress'
           ELSE s END;

-- The repair cases of the couples in scope that had started by `as_of`, and whether each was
-- open that day (a case closed on a day is closed from that day on).
CREATE OR REPLACE MACRO repair_cases_as_of(sees_all, therapist, couples, as_of) AS TABLE
SELECT k.*, k.closed_on IS NULL OR k.closed_on > CAST(as_of AS DATE) AS is_open
FROM repair_cases k
WHERE k.started_on <= CAST(as_of AS DATE)
  AND ((sees_all AND couples IS NULL)
       OR k.couple_id IN (SELECT couple_id FROM couples_in_scope(sees_all, therapist, couples)));

-- Every milestone of every case in scope as of a date: four rows per case. The status is that of
-- the latest change in effect by then (not_started before any); status_since is when the
-- current run of that status began (recording the same status again, e.g. a pace review, does
-- not restart the count); days_in_status counts from it to `as_of`. begun_on: the first change
-- away from not started. amends and pace: the latest recorded; pace_reviewed_on: the latest
-- review of the pace.
CREATE OR REPLACE MACRO repair_milestone_state(sees_all, therapist, couples, as_of) AS TABLE
WITH cases AS MATERIALIZED (
    SELECT * FROM repair_cases_as_of(sees_all, therapist, couples, as_of)
), ordered AS (
    SELECT e.case_id, e.milestone, e.status, e.effective_on, e.amends, e.pace,
           e.pace_reviewed_on,
           row_number() OVER w AS seq,
           e.status IS DISTINCT FROM lag(e.status) OVER w AS starts_run
    FROM repair_events e
    WHERE e.case_id IN (SELECT id FROM cases) AND e.effective_on <= CAST(as_of AS DATE)
    WINDOW w AS (PARTITION BY e.case_id, e.milestone ORDER BY e.effective_on, e.entered_at, e.id)
), runs AS (
    SELECT *, sum(CAST(starts_run AS INTEGER))
                  OVER (PARTITION BY case_id, milestone ORDER BY seq) AS run
    FROM ordered
), per AS (
    SELECT case_id, milestone, count(*) AS n_changes, arg_max(status, seq) AS status,
           max(effective_on) AS changed_on, max(run) AS last_run,
           min(effective_on) FILTER (WHERE status <> 'not_started') AS begun_on,
           arg_max(amends, seq) FILTER (WHERE amends IS NOT NULL) AS amends,
           arg_max(pace, seq) FILTER (WHERE pace IS NOT NULL) AS pace,
           max(pace_reviewed_on) AS pace_reviewed_on
    FROM runs
    GROUP BY case_id, milestone
), since AS (
    SELECT r.case_id, r.milestone, min(r.effective_on) AS status_since
    FROM runs r
    JOIN per p ON p.case_id = r.case_id AND p.milestone = r.milestone AND r.run = p.last_run
    GROUP BY r.case_id, r.milestone
)
SELECT k.id AS case_id, k.couple_id, k.hurt_partner, k.started_on, k.closed_on, k.is_open,
       CAST(m.milestone AS INTEGER) AS milestone,
       repair_milestone_label(CAST(m.milestone AS INTEGER)) AS milestone_label,
       coalesce(p.status, 'not_started') AS status,
       coalesce(s.status_since, k.started_on) AS status_since,
       date_diff('day', coalesce(s.status_since, k.started_on), CAST(as_of AS DATE))
           AS days_in_status,
       p.changed_on, CAST(coalesce(p.n_changes, 0) AS INTEGER) AS n_changes, p.begun_on,
       p.amends, p.pace, p.pace_reviewed_on
FROM cases k
CROSS JOIN range(1, 5) AS m(milestone)
LEFT JOIN per p ON p.case_id = k.id AND p.milestone = m.milestone
LEFT JOIN since s ON s.case_id = k.id AND s.milestone = m.milestone;

-- Per case: the milestone the work is on now - the first one in progress or revisited, else the
-- first not started, else (all four reached) consistent reliability - with its status and days
-- in it, and how many milestones are reached.
CREATE OR REPLACE MACRO repair_current(sees_all, therapist, couples, as_of) AS TABLE
WITH ms AS MATERIALIZED (
    SELECT * FROM repair_milestone_state(sees_all, therapist, couples, as_of)
), pick AS (
    SELECT case_id,
           coalesce(min(milestone) FILTER (WHERE status IN ('in_progress', 'revisited')),
                    min(milestone) FILTER (WHERE status = 'not_started'), 4) AS milestone,
           CAST(count(*) FILTER (WHERE status = 'reached') AS INTEGER) AS n_reached
    FROM ms
    GROUP BY case_id
)
SELECT ms.case_id, ms.couple_id, ms.hurt_partner, ms.started_on, ms.closed_on, ms.is_open,
       ms.milestone, ms.milestone_label, ms.status, ms.status_since, ms.days_in_status,
       pick.n_reached
FROM ms
JOIN pick ON pick.case_id = ms.case_id AND pick.milestone = ms.milestone;

-- Stalled repair, per open case of an active couple, one row per rule that applies, with a
-- plain-language reason and the numbers behind it. Thresholds are practice settings.
--   slow:      a milestone in progress (or revisited) longer than repair_stall_days;
--   pace:      the pace the hurt partner set for rebuilding time not reviewed for
--              pace_review_days, while rebuilding time is in progress, revisited or reached
--              (counted from the day rebuilding time began when no review is recorded);
--   trust:     consistent reliability marked reached while the hurt partner's trust falls
--              reliably: their change on the check-in's Consistency or Transparency scale
--              (first check-in to latest, scale_change) is 'deteriorated'.
-- rule_rank orders the rules within a case.
CREATE OR REPLACE MACRO repair_stalls(sees_all, therapist, couples, as_of) AS TABLE
WITH settings AS (
    SELECT max(value) FILTER (WHERE key = 'repair_stall_days') AS stall_days,
           max(value) FILTER (WHERE key = 'pace_review_days') AS review_days
    FROM practice_settings
), ms AS MATERIALIZED (
    SELECT s.*
    FROM repair_milestone_state(sees_all, therapist, couples, as_of) s
    JOIN couples c ON c.id = s.couple_id
    WHERE s.is_open AND c.status = 'active'
), slow AS (
    SELECT case_id, couple_id, milestone, 'slow' AS rule, 1 AS rule_rank, days_in_status AS days,
           CAST((SELECT stall_days FROM settings) AS INTEGER) AS limit_days,
           status_since AS since, NULL::VARCHAR AS scale_label, NULL::DOUBLE AS baseline,
           NULL::DOUBLE AS latest, NULL::DOUBLE AS rc_points,
           milestone_label || ' has been ' || repair_status_label(status) || ' for '
           || days_in_status || ' days (since ' || strftime(status_since, '%-d %b %Y')
           || '): longer than the ' || CAST((SELECT stall_days FROM settings) AS INTEGER)
           || ' days set for a milestone.' AS reason
    FROM ms
    WHERE status IN ('in_progress', 'revisited')
      AND days_in_status > (SELECT stall_days FROM settings)
), pace AS (
    SELECT case_id, couple_id, milestone, 'pace' AS rule, 2 AS rule_rank,
           date_diff('day', coalesce(pace_reviewed_on, begun_on), CAST(as_of AS DATE)) AS days,
           CAST((SELECT review_days FROM settings) AS INTEGER) AS limit_days,
           coalesce(pace_reviewed_on, begun_on) AS since, NULL::VARCHAR AS scale_label,
           NULL::DOUBLE AS baseline, NULL::DOUBLE AS latest, NULL::DOUBLE AS rc_points,
           CASE WHEN pace_reviewed_on IS NULL
                THEN 'No pace for rebuilding time has been reviewed with the hurt partner since it '
                     || 'began on ' || strftime(begun_on, '%-d %b %Y') || ', '
                ELSE 'The pace the hurt partner set for rebuilding time was last reviewed on '
                     || strftime(pace_reviewed_on, '%-d %b %Y') || ', ' END
           || date_diff('day', coalesce(pace_reviewed_on, begun_on), CAST(as_of AS DATE))
           || ' days ago: longer than the ' || CAST((SELECT review_days FROM settings) AS INTEGER)
           || ' days set for a review.' AS reason
    FROM ms
    WHERE milestone = 3 AND status IN ('in_progress', 'revisited', 'reached')
      AND date_diff('day', coalesce(pace_reviewed_on, begun_on), CAST(as_of AS DATE))
          > (SELECT review_days FROM settings)
), reliable AS (
    SELECT case_id, couple_id, hurt_partner FROM ms
    WHERE milestone = 4 AND status = 'reached' AND hurt_partner IS NOT NULL
), falling AS (
    -- Only the couples with consistent reliability reached: the change is worked out for them
    -- alone (coalesce: an empty list, never NULL, which would mean every couple).
    SELECT r.case_id, r.couple_id, x.partner, x.scale_label, x.position, x.baseline, x.latest,
           x.rc_points
    FROM reliable r
    JOIN scale_change(sees_all, therapist,
                      coalesce((SELECT list(couple_id) FROM reliable), []),
                      scales := ['consistency', 'transparency']) x
      ON x.couple_id = r.couple_id AND x.partner = r.hurt_partner
    WHERE x.instrument_code = 'checkin' AND x.category = 'deteriorated'
), trust AS (
    SELECT case_id, any_value(couple_id) AS couple_id, 4 AS milestone, 'trust' AS rule,
           3 AS rule_rank, NULL::BIGINT AS days, NULL::INTEGER AS limit_days,
           NULL::DATE AS since, first(scale_label ORDER BY position) AS scale_label,
           first(baseline ORDER BY position) AS baseline,
           first(latest ORDER BY position) AS latest,
           first(rc_points ORDER BY position) AS rc_points,
           'Consistent reliability is marked reached, yet the hurt partner (' || any_value(partner)
           || ') rates trust lower beyond measurement noise: '
           || string_agg(scale_label || ' from ' || printf('%.1f', baseline) || ' to '
                         || printf('%.1f', latest) || ' (noise: ' || printf('%.2f', rc_points)
                         || ')', ', ' ORDER BY position)
           || '.' AS reason
    FROM falling
    GROUP BY case_id
)
SELECT * FROM slow
UNION ALL
SELECT * FROM pace
UNION ALL
SELECT * FROM trust;

-- The flags that put a couple on the therapist's list, safety always first: 004's definition
-- (kept whole below) with one more kind, 'repair_stall' (rank 7, 'medium'): the reasons of
-- repair_stalls, the slowest first. From here on this replaces 004's couple_flags.
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
), stalled AS (
    SELECT couple_id,
           string_agg(reason, ' ' ORDER BY rule_rank, milestone) AS reason,
           to_json(list({'rule': rule, 'milestone': milestone,
                         'milestone_label': repair_milestone_label(milestone), 'days': days,
                         'limit_days': limit_days, 'since': since, 'scale_label': scale_label,
                         'baseline': baseline, 'latest': latest, 'rc_points': rc_points}
                        ORDER BY rule_rank, milestone)) AS details
    FROM repair_stalls(sees_all, therapist, couples, as_of)
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
FROM late
UNION ALL
SELECT couple_id, 'repair_stall', 'medium', 7, reason, details
FROM stalled;
