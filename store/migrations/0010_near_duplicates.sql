-- Near-duplicate contexts (curator leaks). A context's fingerprint is its distinctive normalised
-- figures (part 't' from the table, 'p' from the paragraphs) and its text cells (labels); which
-- revision of the context it was computed from is kept, so a re-imported context is redone.
-- near_duplicates caches the pairs found (a < b), for the TUI's filter and twin link; the
-- `curator leaks` command and the export recompute them instead of trusting the cache.
-- Kept as integers (hashes of the normalised figures and labels, a numeric id per context) so
-- the pair search joins and groups numbers.
CREATE TABLE context_fingerprints (
    uid            VARCHAR NOT NULL,
    revision       INTEGER NOT NULL,
    id             BIGINT NOT NULL
);

CREATE TABLE context_figures (
    id             BIGINT NOT NULL,
    part           VARCHAR NOT NULL,
    token          UBIGINT NOT NULL
);

CREATE TABLE context_labels (
    id             BIGINT NOT NULL,
    label          UBIGINT NOT NULL
);

CREATE TABLE near_duplicates (
    a              VARCHAR NOT NULL,
    b              VARCHAR NOT NULL,
    score          DOUBLE NOT NULL,
    figures        INTEGER NOT NULL,
    labels         INTEGER NOT NULL,
    paragraph_figures INTEGER NOT NULL
);
