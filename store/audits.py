"""Audit samples of exports: storing a drawn sample and reading back how its review went."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from curator.store.db import Store


@dataclass(frozen=True, slots=True)
class Audit:
    audit_id: int
    selection: str
    sample_size: int
    population: int
    seed: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditItem:
    record_uid: str
    stratum: str
    source: str
    #: the latest live decision on the record since it was drawn: accept/edit/reject, or ""
    decision: str


def save_audit(
    store: Store,
    selection: str,
    population: int,
    seed: int,
    items: list[tuple[str, str, str, str]],
) -> int:
    """Store a drawn sample (uid, record hash, stratum, source); returns its audit id."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with store.transaction() as con:
        found = con.execute("SELECT coalesce(max(audit_id), 0) + 1 FROM audits").fetchone()
        audit_id = int(found[0]) if found else 1
        con.execute(
            "INSERT INTO audits VALUES (?, ?, ?, ?, ?, ?)",
            [audit_id, selection, len(items), population, seed, now],
        )
        con.executemany(
            "INSERT INTO audit_items VALUES (?, ?, ?, ?, ?)",
            [[audit_id, uid, rhash, stratum, source] for uid, rhash, stratum, source in items],
        )
    return audit_id


def latest_audit(store: Store, selection: str) -> Audit | None:
    with store.connection() as con:
        rows = con.execute(
            "SELECT audit_id, selection, sample_size, population, seed, created_at FROM audits "
            "WHERE selection = ? ORDER BY audit_id DESC LIMIT 1",
            [selection],
        ).fetchall()
    return Audit(*rows[0]) if rows else None


def audit_items(store: Store, audit_id: int) -> list[AuditItem]:
    """The sample with each record's latest live decision (made after it was drawn or not:
    any person's decision on it counts as the audit's finding)."""
    sql = """
        WITH live AS (
            SELECT e.* FROM review_events e
            WHERE e.action IN ('accept', 'reject', 'edit', 'flag') AND NOT EXISTS (
                SELECT 1 FROM review_events u WHERE u.action = 'undo' AND u.undoes = e.event_id)
        ),
        last AS (
            -- a flagged record is not decided yet: no finding
            SELECT record_uid, arg_max(action, event_id) AS action FROM live GROUP BY record_uid
            HAVING arg_max(action, event_id) <> 'flag'
        )
        SELECT i.record_uid, i.stratum, i.source, coalesce(l.action, '')
        FROM audit_items i LEFT JOIN last l ON l.record_uid = i.record_uid
        WHERE i.audit_id = ? ORDER BY i.record_uid
    """
    with store.connection() as con:
        rows = con.execute(sql, [audit_id]).fetchall()
    return [AuditItem(*row) for row in rows]
