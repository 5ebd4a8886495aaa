-- Notes and flags (issue 16). Two more kinds of review event, journaled and stored like decisions:
--   note  a reviewer's comment on a record (text in `note`); part of its history, never a decision:
--         it changes no status and is never the "latest decision" anywhere;
--   flag  "flag for discussion": a status (flagged) until someone accepts, rejects or edits the
--         record, or the flag is undone. A flagged record is not accepted (export leaves it out).
-- DuckDB cannot alter a CHECK constraint, so the table is rebuilt with the same rows and ids.
CREATE TABLE review_events_v12 (
    event_id       BIGINT PRIMARY KEY,
    event_uid      VARCHAR NOT NULL UNIQUE,
    record_uid     VARCHAR NOT NULL,
    action         VARCHAR NOT NULL
        CHECK (action IN ('accept', 'reject', 'edit', 'undo', 'flag', 'note')),
    reviewer       VARCHAR NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    reason         VARCHAR NOT NULL DEFAULT '',
    note           VARCHAR NOT NULL DEFAULT '',
    edited         JSON,
    undoes         BIGINT,
    undoes_uid     VARCHAR,
    blind          BOOLEAN NOT NULL DEFAULT false,
    record_hash    VARCHAR NOT NULL DEFAULT ''
);

INSERT INTO review_events_v12
SELECT event_id, event_uid, record_uid, action, reviewer, created_at, reason, note, edited,
       undoes, undoes_uid, blind, record_hash
FROM review_events;

DROP VIEW record_state;
DROP TABLE review_events;
ALTER TABLE review_events_v12 RENAME TO review_events;
CREATE INDEX review_events_record ON review_events (record_uid);

-- Status: the latest live decision or flag (notes never count). Conflicts compare reviewers'
-- decisions only: a flag is a question, not a verdict on the record.
CREATE VIEW record_state AS
WITH live AS (
    SELECT e.*
    FROM review_events e
    WHERE e.action NOT IN ('undo', 'note')
      AND NOT EXISTS (
          SELECT 1 FROM review_events u WHERE u.action = 'undo' AND u.undoes = e.event_id
      )
),
per_reviewer AS (
    SELECT record_uid, reviewer, arg_max(action, event_id) AS action
    FROM live
    WHERE action <> 'flag'
    GROUP BY record_uid, reviewer
),
conflicts AS (
    SELECT record_uid, count(DISTINCT action) > 1 AS conflict, count(*) AS reviewers
    FROM per_reviewer
    GROUP BY record_uid
)
SELECT
    l.record_uid,
    CASE arg_max(l.action, l.event_id)
        WHEN 'accept' THEN 'accepted'
        WHEN 'reject' THEN 'rejected'
        WHEN 'edit' THEN 'edited'
        WHEN 'flag' THEN 'flagged'
    END AS status,
    max(l.event_id) AS event_id,
    arg_max(l.reviewer, l.event_id) AS reviewer,
    max(l.created_at) AS decided_at,
    arg_max(l.edited, l.event_id) FILTER (WHERE l.action = 'edit') AS edited,
    count(*) AS live_events,
    coalesce(any_value(c.conflict), false) AS conflict,
    coalesce(any_value(c.reviewers), 0) AS reviewers
FROM live l
LEFT JOIN conflicts c ON c.record_uid = l.record_uid
GROUP BY l.record_uid;
