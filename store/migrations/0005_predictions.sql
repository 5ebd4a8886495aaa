-- Named prediction runs (a model over a split, or answers imported from elsewhere) and their
-- answers, for `curator eval`. Append-only like verdicts.
CREATE TABLE prediction_runs (
    name           VARCHAR NOT NULL,
    source         VARCHAR NOT NULL CHECK (source IN ('model', 'import')),
    backend        VARCHAR NOT NULL DEFAULT '',
    model          VARCHAR NOT NULL DEFAULT '',
    prompt_hash    VARCHAR NOT NULL DEFAULT '',
    options        JSON,
    created_at     TIMESTAMP NOT NULL
);

CREATE TABLE predictions (
    run_name       VARCHAR NOT NULL,
    record_uid     VARCHAR NOT NULL,
    record_hash    VARCHAR NOT NULL DEFAULT '',
    answer_text    VARCHAR NOT NULL DEFAULT '',
    raw_output     VARCHAR NOT NULL DEFAULT '',
    input_tokens   BIGINT NOT NULL DEFAULT 0,
    output_tokens  BIGINT NOT NULL DEFAULT 0,
    cost_usd       DOUBLE NOT NULL DEFAULT 0,
    latency_ms     DOUBLE NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 1,
    error          VARCHAR NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX predictions_run ON predictions (run_name, record_uid);
