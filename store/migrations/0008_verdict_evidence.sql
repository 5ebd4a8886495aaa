-- What a verdict rests on, as JSON: a list of {kind, text, row?, col?} (a table cell, a sentence,
-- a calculation). A side table keyed by verdict_id (DuckDB cannot alter a table views depend
-- on); verdicts without evidence have no row here. Append-only like verdicts.
CREATE TABLE verdict_evidence (
    verdict_id     BIGINT NOT NULL,
    evidence       VARCHAR NOT NULL
);
CREATE INDEX verdict_evidence_id ON verdict_evidence (verdict_id);
