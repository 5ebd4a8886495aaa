-- Shard keys (curator review --shard K/N): each record keeps md5_number(uid) as two 64-bit
-- halves, so a shard is 64-bit arithmetic on stored numbers instead of an md5 and 128-bit
-- divisions per record and query (seconds per view on a large store). See store/shards.py.
-- Written by every import from now on; filled in here for the records already stored.
ALTER TABLE records ADD COLUMN uid_md5_hi UBIGINT;
ALTER TABLE records ADD COLUMN uid_md5_lo UBIGINT;
UPDATE records
SET uid_md5_hi = (md5_number(uid) >> 64)::UBIGINT,
    uid_md5_lo = (md5_number(uid) & 18446744073709551615::UHUGEINT)::UBIGINT;
