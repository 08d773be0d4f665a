-- 007: session agendas (issue 10). 001's agenda_items (one flat list per couple, never used) is
-- replaced: an agenda is saved for a couple and a session date, and every save of it is a new
-- version (agendas rows are never updated or deleted, so the history per couple is kept and the
-- latest version of a date is the agenda). Its items carry their position, kind, the therapist-
-- editable text, a one-line why, the numbers behind it (JSON: scale, partner, values, dates), an
-- optional suggestion from the practice library, a status, where it came from (the data or the
-- therapist) and, for an item carried over from an earlier agenda, that item's id. Marking an
-- item done updates its status in place (the one UPDATE; audited by analytics/practice/agendas.py).
-- Item text is the therapist's and may quote the couple: never logged, never in the audit.

DROP TABLE agenda_items;
DROP SEQUENCE seq_agenda;

CREATE SEQUENCE seq_agendas START 1;
CREATE TABLE agendas (
    id            INTEGER PRIMARY KEY DEFAULT nextval('seq_agendas'),
    couple_id     INTEGER NOT NULL,
    session_date  DATE NOT NULL,
    version       INTEGER NOT NULL CHECK (version >= 1),
    saved_by      INTEGER,
    saved_at      TIMESTAMP NOT NULL DEFAULT current_timestamp,
    UNIQUE (couple_id, session_date, version)
);

CREATE SEQUENCE seq_agenda_items START 1;
CREATE TABLE agenda_items (
    id            INTEGER PRIMARY KEY DEFAULT nextval('seq_agenda_items'),
    agenda_id     INTEGER NOT NULL,
    position      INTEGER NOT NULL CHECK (position >= 1),
    kind          VARCHAR NOT NULL,
    text          VARCHAR NOT NULL,
    why           VARCHAR NOT NULL DEFAULT '',
    numbers       JSON,
    suggestion    VARCHAR,
    status        VARCHAR NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'dropped')),
    source        VARCHAR NOT NULL DEFAULT 'data' CHECK (source IN ('data', 'therapist')),
    carried_from  INTEGER
);
