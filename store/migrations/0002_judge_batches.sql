-- Batch judge jobs (Anthropic Message Batches, Bedrock batch inference). Their ids live here so a
-- later `curator judge --batch` collects what was submitted instead of submitting it again.
CREATE TABLE judge_batches (
    batch_id       VARCHAR NOT NULL,
    provider       VARCHAR NOT NULL CHECK (provider IN ('anthropic', 'bedrock')),
    judge          VARCHAR NOT NULL,
    model          VARCHAR NOT NULL,
    prompt_hash    VARCHAR NOT NULL,
    run_id         VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,
    details        JSON,
    submitted_at   TIMESTAMP NOT NULL,
    collected_at   TIMESTAMP
);

-- Which record (and which version of it) each custom id / record id of a batch stands for.
CREATE TABLE judge_batch_items (
    batch_id       VARCHAR NOT NULL,
    custom_id      VARCHAR NOT NULL,
    record_uid     VARCHAR NOT NULL,
    record_hash    VARCHAR NOT NULL
);
