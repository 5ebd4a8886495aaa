-- Several reviewers on one store: a record whose reviewers' latest live decisions differ is a
-- conflict. Both decisions stay in review_events; the view flags the record so it can be found.
CREATE OR REPLACE VIEW record_state AS
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
