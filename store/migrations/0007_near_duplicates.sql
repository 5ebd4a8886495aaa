-- Near-duplicate contexts (curator leaks). A context's fingerprint is its distinctive normalised
-- figures (part 't' from the table, 'p' from the paragraphs) and its text cells (labels); which
-- revision of the context it was computed from is kept, so a re-imported context is redone.
-- near_duplicates caches the pairs found (a < b), for the TUI's filter and twin link; the
-- `curator leaks` command and the export recompute them instead of trusting the cache.
CREATE TABLE context_figures (
    uid            VARCHAR NOT NULL,
    part           VARCHAR NOT NULL,
    token          VARCHAR NOT NULL
);

CREATE TABLE context_labels (
    uid            VARCHAR NOT NULL,
    label          VARCHAR NOT NULL
);

CREATE TABLE context_fingerprints (
    uid            VARCHAR NOT NULL,
    revision       INTEGER NOT NULL
);

CREATE TABLE near_duplicates (
    a              VARCHAR NOT NULL,
    b              VARCHAR NOT NULL,
    score          DOUBLE NOT NULL,
    figures        INTEGER NOT NULL,
    labels         INTEGER NOT NULL,
    paragraph_figures INTEGER NOT NULL
);
