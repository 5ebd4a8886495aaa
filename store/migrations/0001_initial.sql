-- curator store, schema version 1.
-- Source data is never overwritten: a re-import that changes a context or record first copies the
-- superseded version into *_revisions. Verdicts and review events are append-only; the current
-- state of a record is derived by views.

CREATE TABLE imports (
    import_id      INTEGER NOT NULL,
    path           VARCHAR NOT NULL,
    file_sha256    VARCHAR NOT NULL,
    file_bytes     BIGINT NOT NULL,
    split          VARCHAR NOT NULL,
    imported_at    TIMESTAMP NOT NULL,
    contexts       INTEGER NOT NULL,
    questions      INTEGER NOT NULL,
    new_records    INTEGER NOT NULL,
    changed_records INTEGER NOT NULL,
    unchanged_records INTEGER NOT NULL
);

CREATE TABLE contexts (
    uid            VARCHAR NOT NULL,
    split          VARCHAR NOT NULL,
    source_file    VARCHAR NOT NULL,
    table_rows     VARCHAR[][] NOT NULL,
    paragraphs     STRUCT(uid VARCHAR, "order" BIGINT, text VARCHAR)[] NOT NULL,
    revision       INTEGER NOT NULL,
    import_id      INTEGER NOT NULL
);

CREATE TABLE context_revisions (
    uid            VARCHAR NOT NULL,
    split          VARCHAR NOT NULL,
    source_file    VARCHAR NOT NULL,
    table_rows     VARCHAR[][] NOT NULL,
    paragraphs     STRUCT(uid VARCHAR, "order" BIGINT, text VARCHAR)[] NOT NULL,
    revision       INTEGER NOT NULL,
    import_id      INTEGER NOT NULL,
    superseded_by  INTEGER NOT NULL
);

-- seq is the stable order every listing pages over (keyset pagination): assigned once, in file
-- order, when a uid is first imported; never reused.
CREATE TABLE records (
    seq            BIGINT NOT NULL,
    uid            VARCHAR NOT NULL,
    context_uid    VARCHAR NOT NULL,
    split          VARCHAR NOT NULL,
    q_order        BIGINT NOT NULL,
    question       VARCHAR NOT NULL,
    answer         JSON NOT NULL,
    answer_type    VARCHAR NOT NULL,
    answer_from    VARCHAR NOT NULL,
    derivation     VARCHAR NOT NULL,
    scale          VARCHAR NOT NULL,
    rel_paragraphs VARCHAR[] NOT NULL,
    req_comparison BOOLEAN NOT NULL,
    content_hash   VARCHAR NOT NULL,
    revision       INTEGER NOT NULL,
    import_id      INTEGER NOT NULL
);

CREATE TABLE record_revisions (
    seq            BIGINT NOT NULL,
    uid            VARCHAR NOT NULL,
    context_uid    VARCHAR NOT NULL,
    split          VARCHAR NOT NULL,
    q_order        BIGINT NOT NULL,
    question       VARCHAR NOT NULL,
    answer         JSON NOT NULL,
    answer_type    VARCHAR NOT NULL,
    answer_from    VARCHAR NOT NULL,
    derivation     VARCHAR NOT NULL,
    scale          VARCHAR NOT NULL,
    rel_paragraphs VARCHAR[] NOT NULL,
    req_comparison BOOLEAN NOT NULL,
    content_hash   VARCHAR NOT NULL,
    revision       INTEGER NOT NULL,
    import_id      INTEGER NOT NULL,
    superseded_by  INTEGER NOT NULL
);

-- One row per judge call that finished (or failed for good). Never updated.
CREATE TABLE verdicts (
    verdict_id     BIGINT NOT NULL,
    record_uid     VARCHAR NOT NULL,
    run_id         VARCHAR NOT NULL,
    judge          VARCHAR NOT NULL,
    model          VARCHAR NOT NULL,
    prompt_hash    VARCHAR NOT NULL,
    record_hash    VARCHAR NOT NULL,
    verdict        VARCHAR NOT NULL
        CHECK (verdict IN ('correct', 'incorrect', 'uncertain', 'unparsed', 'error')),
    reason         VARCHAR NOT NULL DEFAULT '',
    raw_output     VARCHAR NOT NULL DEFAULT '',
    input_tokens   BIGINT NOT NULL DEFAULT 0,
    output_tokens  BIGINT NOT NULL DEFAULT 0,
    cache_read_tokens  BIGINT NOT NULL DEFAULT 0,
    cache_write_tokens BIGINT NOT NULL DEFAULT 0,
    cost_usd       DOUBLE NOT NULL DEFAULT 0,
    latency_ms     DOUBLE NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 1,
    error          VARCHAR NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL
);

-- One row per reviewer action. An undo names the event it reverts; edits carry the new values.
CREATE TABLE review_events (
    event_id       BIGINT NOT NULL,
    record_uid     VARCHAR NOT NULL,
    action         VARCHAR NOT NULL CHECK (action IN ('accept', 'reject', 'edit', 'undo')),
    reviewer       VARCHAR NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    reason         VARCHAR NOT NULL DEFAULT '',
    note           VARCHAR NOT NULL DEFAULT '',
    edited         JSON,
    undoes         BIGINT,
    blind          BOOLEAN NOT NULL DEFAULT false,
    record_hash    VARCHAR NOT NULL DEFAULT ''
);

-- The latest live decision per record: an event counts unless an undo names it.
CREATE VIEW record_state AS
WITH live AS (
    SELECT e.*
    FROM review_events e
    WHERE e.action <> 'undo'
      AND NOT EXISTS (
          SELECT 1 FROM review_events u WHERE u.action = 'undo' AND u.undoes = e.event_id
      )
)
SELECT
    record_uid,
    CASE arg_max(action, event_id)
        WHEN 'accept' THEN 'accepted'
        WHEN 'reject' THEN 'rejected'
        WHEN 'edit' THEN 'edited'
    END AS status,
    max(event_id) AS event_id,
    arg_max(reviewer, event_id) AS reviewer,
    max(created_at) AS decided_at,
    arg_max(edited, event_id) FILTER (WHERE action = 'edit') AS edited,
    count(*) AS live_events
FROM live
GROUP BY record_uid;

-- Each judge's most recent verdict per record.
CREATE VIEW latest_verdicts AS
SELECT
    record_uid,
    judge,
    arg_max(verdict, verdict_id) AS verdict,
    arg_max(model, verdict_id) AS model,
    arg_max(reason, verdict_id) AS reason,
    arg_max(record_hash, verdict_id) AS record_hash,
    max(verdict_id) AS verdict_id
FROM verdicts
GROUP BY record_uid, judge;
