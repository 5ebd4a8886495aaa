-- Review events get identities that cannot collide. Before this, event_id was max + 1 read in the
-- writing transaction, so two writers could take the same id and an undo could name the wrong
-- event. Now:
--   event_id   the order of events in the store (assigned when an event is stored), unique;
--   event_uid  given by the writing process when the decision is made (time-ordered, unique),
--              so a decision has its identity before it reaches the store;
--   undoes_uid the exact event an undo reverts (undoes keeps its event_id for queries).
-- Existing events are renumbered in their stored order; an undo whose old id was shared by
-- several events is pointed at the one of its own record (what the reviewer undid).
CREATE TABLE review_events_v7 (
    event_id       BIGINT PRIMARY KEY,
    event_uid      VARCHAR NOT NULL UNIQUE,
    record_uid     VARCHAR NOT NULL,
    action         VARCHAR NOT NULL CHECK (action IN ('accept', 'reject', 'edit', 'undo')),
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

INSERT INTO review_events_v7
WITH numbered AS (
    SELECT *, row_number() OVER (ORDER BY event_id, created_at, rowid) AS new_id
    FROM review_events
),
targets AS (
    SELECT n.new_id,
           coalesce(
               (SELECT max(t.new_id) FROM numbered t WHERE t.event_id = n.undoes
                  AND t.record_uid = n.record_uid AND t.action <> 'undo' AND t.new_id < n.new_id),
               (SELECT max(t.new_id) FROM numbered t WHERE t.event_id = n.undoes
                  AND t.action <> 'undo')
           ) AS target
    FROM numbered n
    WHERE n.action = 'undo'
)
SELECT n.new_id, 'legacy-' || lpad(CAST(n.new_id AS VARCHAR), 12, '0'), n.record_uid, n.action,
       n.reviewer, n.created_at, n.reason, n.note, n.edited,
       CASE WHEN n.action = 'undo' THEN coalesce(t.target, n.undoes) END,
       CASE WHEN t.target IS NOT NULL
            THEN 'legacy-' || lpad(CAST(t.target AS VARCHAR), 12, '0') END,
       n.blind, n.record_hash
FROM numbered n LEFT JOIN targets t ON t.new_id = n.new_id;

DROP VIEW record_state;
DROP TABLE review_events;
ALTER TABLE review_events_v7 RENAME TO review_events;
CREATE INDEX review_events_record ON review_events (record_uid);

CREATE VIEW record_state AS
WITH live AS (
    SELECT e.*
    FROM review_events e
    WHERE e.action <> 'undo'
      AND NOT EXISTS (
          SELECT 1 FROM review_events u WHERE u.action = 'undo' AND u.undoes = e.event_id
      )
),
per_reviewer AS (
    SELECT record_uid, reviewer, arg_max(action, event_id) AS action
    FROM live
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
    END AS status,
    max(l.event_id) AS event_id,
    arg_max(l.reviewer, l.event_id) AS reviewer,
    max(l.created_at) AS decided_at,
    arg_max(l.edited, l.event_id) FILTER (WHERE l.action = 'edit') AS edited,
    count(*) AS live_events,
    any_value(c.conflict) AS conflict,
    any_value(c.reviewers) AS reviewers
FROM live l
JOIN conflicts c ON c.record_uid = l.record_uid
GROUP BY l.record_uid;
