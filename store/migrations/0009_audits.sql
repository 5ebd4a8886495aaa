-- Audited exports: a stratified random sample of exported records no person had reviewed,
-- queued for review. `selection` names what the export took (judges, filters) so a later export
-- of the same selection reports the audit's error estimate in its manifest.
CREATE TABLE audits (
    audit_id       INTEGER NOT NULL,
    selection      VARCHAR NOT NULL,
    sample_size    INTEGER NOT NULL,
    population     INTEGER NOT NULL,
    seed           INTEGER NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE TABLE audit_items (
    audit_id       INTEGER NOT NULL,
    record_uid     VARCHAR NOT NULL,
    record_hash    VARCHAR NOT NULL,
    stratum        VARCHAR NOT NULL,
    source         VARCHAR NOT NULL
);
CREATE INDEX audit_items_uid ON audit_items (record_uid);
