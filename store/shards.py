"""Work shards (`curator review --shard K/N`): which records are a reviewer's, without hashing.

A record's shard is `md5_number(uid) % N` (DuckDB's md5 of the uid as a 128-bit number): md5,
not DuckDB's `hash()`, so shards never move when DuckDB is upgraded. With `--overlap F` a
record of the previous shard is routed here too when `(md5_number(uid) // N) % 10000` is below
F * 10000.

Computed per query, that was an md5 and 128-bit divisions per record of the store: seconds per
view on a large store. So each record keeps its md5 as two 64-bit halves (`uid_md5_hi`,
`uid_md5_lo`: written at import; migration 0013 filled them in for older stores) and the shard
is computed from those with 64-bit arithmetic: the same numbers, for any N, at the cost of a
filter on two integer columns. A row without them (written by some other path) gets the 128-bit
formula from its uid; while no row lacks them DuckDB's statistics drop that branch unread.
"""

from __future__ import annotations

#: md5_number(uid) = uid_md5_hi * 2**64 + uid_md5_lo.
_TWO_64 = 1 << 64
#: The overlap is measured in units of one in this many records of the previous shard.
OVERLAP_UNITS = 10000


def md5_halves_sql(uid: str) -> str:
    """The values of `uid_md5_hi, uid_md5_lo` for a record whose uid is the SQL `uid`."""
    number = f"md5_number({uid})"
    return f"({number} >> 64)::UBIGINT, ({number} & {_TWO_64 - 1}::UHUGEINT)::UBIGINT"


def _md5_mod(alias: str, m: int) -> str:
    """md5_number(uid) % m from the halves: (hi % m) * (2**64 % m) + lo % m, mod m. Exact
    while m < 2**32 (no product reaches 2**64)."""
    m_ = f"{m}::UBIGINT"
    return (
        f"((({alias}.uid_md5_hi % {m_}) * {_TWO_64 % m}::UBIGINT + {alias}.uid_md5_lo % {m_}) "
        f"% {m_})"
    )


def _from_uid(k: int, n: int, share_of: int, alias: str) -> str:
    """The shard clause computed from the uid (128-bit arithmetic): the definition."""
    number = f"md5_number({alias}.uid)"
    bucket = f"CAST({number} % {n} AS INTEGER)"
    mine = f"{bucket} = {k - 1}"
    if not share_of:
        return mine
    share = f"CAST(({number} // {n}) % {OVERLAP_UNITS} AS INTEGER)"
    return f"({mine} OR ({bucket} = {(k - 2) % n} AND {share} < {share_of}))"


def _from_halves(k: int, n: int, share_of: int, alias: str) -> str:
    """The same clause from the stored halves (64-bit arithmetic)."""
    if not share_of:
        return f"{_md5_mod(alias, n)} = {k - 1}"
    # x = md5 % (U * n) = ((md5 // n) % U) * n + md5 % n, so md5 % n = x % n, and with that
    # equal to the previous shard, (md5 // n) % U < share_of exactly when x < share_of * n.
    x = _md5_mod(alias, OVERLAP_UNITS * n)
    bucket = f"{x} % {n}::UBIGINT"
    previous = (k - 2) % n
    return f"({bucket} = {k - 1} OR ({bucket} = {previous} AND {x} < {share_of * n}))"


def shard_clause(k: int, n: int, overlap: float = 0.0, alias: str = "r") -> str:
    """SQL true for the records of shard `k` of `n` (1-based), plus `overlap` of shard k-1's."""
    k, n = int(k), int(n)
    share_of = round(overlap * OVERLAP_UNITS) if overlap > 0 and n > 1 else 0
    exact = _from_uid(k, n, share_of, alias)
    if OVERLAP_UNITS * n >= 1 << 32:  # beyond 64-bit arithmetic
        return exact
    stored = f"{alias}.uid_md5_hi IS NOT NULL AND {alias}.uid_md5_lo IS NOT NULL"
    return f"(({stored} AND {_from_halves(k, n, share_of, alias)}) OR (NOT ({stored}) AND {exact}))"
