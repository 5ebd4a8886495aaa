"""Bulk import of TAT-QA raw JSON into the store, in one transaction.

DuckDB parses the file itself (`read_json` with an explicit schema whose leaves are JSON), because
that is several times faster than Python and streams instead of holding the file as Python objects.
Every field is then checked in SQL against the specification in `curator.tatqa`, still inside the
transaction: the first problem found is raised as `BadInput` naming the context, question, uid and
field, the transaction rolls back, and the store is exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb

from curator.domain import ANSWER_TYPES, BadInput, FieldChange, ImportSummary
from curator.faults import fault_point
from curator.store.db import ProgressCallback, Store
from curator.store.leaks import refresh_for_import
from curator.store.shards import md5_halves_sql
from curator.tatqa import (
    ANSWER_RULES,
    MAX_QUOTED,
    PARAGRAPH_FIELDS,
    QUESTION_FIELDS,
    FieldSpec,
    clip,
    context_where,
    diagnose,
    question_where,
)
from curator.tempfiles import private_name, remove_stale

FileProgressCallback = Callable[[Path, str, float], None]

#: Largest single context DuckDB will accept (a context is one JSON object of the top-level list).
MAX_CONTEXT_BYTES = 256 * 1024 * 1024
#: DuckDB's buffer limit during an import (staging tables spill to disk beyond it).
IMPORT_MEMORY_LIMIT = "1536MB"
#: How many field-level differences an import lists when records changed.
MAX_LISTED_CHANGES = 20


def _json_struct(fields: tuple[FieldSpec, ...]) -> str:
    return "STRUCT(" + ", ".join(f'"{f.name}" JSON' for f in fields) + ")"


_COLUMNS = (
    "{'table': 'STRUCT(uid JSON, \"table\" JSON)', "
    f"'paragraphs': '{_json_struct(PARAGRAPH_FIELDS)}[]', "
    f"'questions': '{_json_struct(QUESTION_FIELDS)}[]'}}"
)

_TYPE_WORDS = (
    "CASE json_type({v}) WHEN 'VARCHAR' THEN 'a string' WHEN 'BIGINT' THEN 'a number' "
    "WHEN 'UBIGINT' THEN 'a number' WHEN 'DOUBLE' THEN 'a number' WHEN 'BOOLEAN' THEN 'true/false' "
    "WHEN 'ARRAY' THEN 'a list' WHEN 'OBJECT' THEN 'an object' ELSE 'null' END"
)

# The checks test the JSON text itself. DuckDB stores JSON values minified and normalised, so a
# string starts with a quote, an integer is digits, and a list of strings has one exact shape:
# plain text tests that cost far less than parsing each value again. `json_type` appears only in
# the messages, which are computed for the one bad row reported.
_STRING = '"(?:[^"\\\\]|\\\\.)*"'
_STRING_LIST = f"\\[(?:{_STRING}(?:,{_STRING})*)?\\]"
_NONEMPTY_STRING_LIST = f"\\[{_STRING}(?:,{_STRING})*\\]"
_INTEGER = "-?[0-9]+"
_NUMBER = "-?[0-9]+(?:\\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _matches(v: str, pattern: str) -> str:
    return f"regexp_full_match(CAST({v} AS VARCHAR), {_sql_str(pattern)})"


def _clipped(text: str) -> str:
    """SQL: `text` cut to MAX_QUOTED characters, so a huge bad value is not echoed whole."""
    return (
        f"CASE WHEN length({text}) > {MAX_QUOTED} THEN left({text}, {MAX_QUOTED}) || '…(' || "
        f"format('{{:,}}', length({text})) || ' chars)' ELSE {text} END"
    )


def _field_checks(spec: FieldSpec, v: str, answer_type: str | None = None) -> list[tuple[str, str]]:
    """(condition that means "bad", SQL expression for the message) pairs, in the order to test."""
    name = spec.name
    text = f"CAST({v} AS VARCHAR)"
    quoted_value = _clipped(text)
    checks = [(f"({v} IS NULL OR {text} = 'null')", _sql_str(f"missing field {name!r}"))]
    found = (
        _sql_str(f"field {name!r} must be {spec.describe()}, found ")
        + " || "
        + (_TYPE_WORDS.format(v=v))
    )
    if spec.allowed:
        allowed = ", ".join(_sql_str(json.dumps(a)) for a in spec.allowed)
        message = (
            _sql_str(f"field {name!r} is ")
            + f" || {quoted_value} || "
            + _sql_str(f"; expected {spec.describe()}")
        )
        checks.append((f"{text} NOT IN ({allowed})", message))
    elif spec.kind == "string":
        checks.append((f"NOT starts_with({text}, '\"')", found))
        if spec.nonblank:
            blank = f"regexp_full_match(json_extract_string({v}, '$'), '\\s*')"
            checks.append((blank, _sql_str(f"field {name!r} is empty; every {name} needs a value")))
    elif spec.kind == "integer":
        checks.append((f"NOT {_matches(v, _INTEGER)}", found))
        # Stored as BIGINT: a larger integer would become NULL there (an internal error).
        checks.append(
            (
                f"TRY_CAST({text} AS BIGINT) IS NULL",
                _sql_str(f"field {name!r} is ")
                + f" || {quoted_value} || "
                + _sql_str(f"; expected an integer from {-(2**63):,} to {2**63 - 1:,}"),
            )
        )
    elif spec.kind == "boolean":
        checks.append((f"{text} NOT IN ('true', 'false')", found))
    elif spec.kind == "string_list":
        checks.append((f"NOT {_matches(v, _STRING_LIST)}", found))
    elif spec.kind == "answer":
        assert answer_type is not None
        inner = f"trim(json_extract_string({v}, '$'))"
        quoted = f"starts_with({text}, '\"')"
        rule = (
            f"CASE {answer_type} "
            f"WHEN 'arithmetic' THEN {_matches(v, _NUMBER)} "
            f"OR ({quoted} AND TRY_CAST({inner} AS DOUBLE) IS NOT NULL) "
            f"WHEN 'count' THEN {_matches(v, _INTEGER)} "
            f"OR ({quoted} AND regexp_full_match({inner}, '{_INTEGER}')) "
            f"ELSE {_matches(v, _NONEMPTY_STRING_LIST)} END"
        )
        words = (
            f"CASE {answer_type} "
            + " ".join(f"WHEN {_sql_str(t)} THEN {_sql_str(w)}" for t, w in ANSWER_RULES.items())
            + " END"
        )
        checks.append(
            (
                f"NOT ({rule})",
                f"'field ''answer'' of ' || CASE {answer_type} WHEN 'arithmetic' THEN 'an ' "
                f"ELSE 'a ' END || {answer_type} || ' question must be ' || {words}"
                f" || ', found ' || {quoted_value}",
            )
        )
    return checks


def _problem_expr(checks: list[tuple[str, str]]) -> str:
    return "CASE " + " ".join(f"WHEN {c} THEN {m}" for c, m in checks) + " END"


def _question_problem_sql() -> str:
    checks: list[tuple[str, str]] = []
    # answer_type is checked before answer, so the answer rule can rely on it being known.
    ordered = sorted(QUESTION_FIELDS, key=lambda f: f.name == "answer")
    for spec in ordered:
        checks += _field_checks(spec, f'q."{spec.name}"', "json_extract_string(q.answer_type, '$')")
    return _problem_expr(checks)


def _context_problem_sql() -> str:
    t = '"table"'
    table_rows = f'{t}."table"'
    checks = [(f"{t} IS NULL", "'missing field ''table'''")]
    checks += _field_checks(FieldSpec("uid", "string", nonblank=True), f"{t}.uid")
    checks = [(c, "'table: ' || " + m if i else m) for i, (c, m) in enumerate(checks)]
    row = f"\\[(?:{_STRING}(?:,{_STRING})*)?\\]"
    rows_ok = _matches(table_rows, f"\\[(?:{row}(?:,{row})*)?\\]")
    checks.append(
        (
            f"{table_rows} IS NULL OR json_type({table_rows}) = 'NULL'",
            "'table: missing field ''table'' (the rows of cells)'",
        )
    )
    checks.append(
        (
            f"NOT {rows_ok}",
            "'table: field ''table'' must be a list of rows, each a list of strings'",
        )
    )
    checks.append(("paragraphs IS NULL", "'missing field ''paragraphs'''"))
    checks.append(("questions IS NULL", "'missing field ''questions'''"))
    return _problem_expr(checks)


def _paragraph_problem_sql() -> str:
    checks: list[tuple[str, str]] = []
    for spec in PARAGRAPH_FIELDS:
        checks += _field_checks(spec, f'p."{spec.name}"')
    return _problem_expr(checks)


_CONTEXT_PROBLEM = _context_problem_sql()
_PARAGRAPH_PROBLEM = _paragraph_problem_sql()
_QUESTION_PROBLEM = _question_problem_sql()

_RECORD_FIELDS = (
    "context_uid",
    "split",
    "q_order",
    "question",
    "answer",
    "answer_type",
    "answer_from",
    "derivation",
    "scale",
    "rel_paragraphs",
    "req_comparison",
)


class _Progress:
    """Polls DuckDB's query progress from a thread and reports it with the stage name."""

    def __init__(self, con: duckdb.DuckDBPyConnection, callback: ProgressCallback | None) -> None:
        self.con = con
        self.callback = callback
        self.stage = ""
        self.base = 0.0
        self.span = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Progress:
        if self.callback is not None:
            self._thread = threading.Thread(target=self._run, name="import-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @contextmanager
    def step(self, stage: str, base: float, span: float) -> Iterator[None]:
        self.stage, self.base, self.span = stage, base, span
        self._report(0.0)
        yield
        self._report(1.0)

    def _report(self, fraction: float) -> None:
        if self.callback is not None:
            self.callback(self.stage, min(1.0, self.base + self.span * fraction))

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                pct = self.con.query_progress()
            except duckdb.Error:
                continue
            if pct >= 0:
                self._report(pct / 100.0)


def _sha256_file(path: Path, out: list[str]) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    out.append(digest.hexdigest())


_RECORD_AND_VALUE = re.compile(r"record/value (\d+)")


def _bad_from_duckdb(path: Path, exc: Exception, source: str) -> BadInput:
    """Explain a file DuckDB refused: the careful Python reader first, else DuckDB's words.

    The Python reader names positions exactly (it counts contexts itself); DuckDB's own record
    numbers are used only when it found nothing, and then its message is cut to one short line.
    """
    diagnosed = diagnose(path, source)
    if diagnosed is not None:
        return diagnosed
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"^[A-Za-z ]+Error: ", "", text)
    match = _RECORD_AND_VALUE.search(text)
    where = f"context #{match.group(1)}" if match else ""
    text = re.sub(r'JSON transform error in file "[^"]*", in record/value \d+: ', "", text)
    return BadInput(source, where, clip(text, 300))


def import_files(
    store: Store,
    files: list[tuple[Path, str]],
    *,
    progress: FileProgressCallback | None = None,
) -> list[ImportSummary]:
    """Import (file, split) pairs in one transaction: every file, or (on bad input) none at all.

    A pipe or other non-regular file (`/dev/stdin`, `-`) is first copied to a private file
    beside the store, because the file is read more than once; errors still name the original.
    """
    with ExitStack() as stack:
        readable = []
        for path, split in files:
            _precheck(path)
            readable.append((path, stack.enter_context(_regular_file(path, store.path)), split))
        return _import_all(store, readable, progress)


def _import_all(
    store: Store,
    files: list[tuple[Path, Path, str]],
    progress: FileProgressCallback | None,
) -> list[ImportSummary]:
    summaries = []
    fault_point("import")
    with store.transaction() as con:
        con.execute("SET enable_progress_bar = true")
        con.execute("SET enable_progress_bar_print = false")
        # Bounded memory for any file size: DuckDB spills staging data to disk past this (into
        # `<store>.tmp`, which the next writer cleans if this process is killed).
        con.execute(f"SET memory_limit = '{IMPORT_MEMORY_LIMIT}'")
        if len(files) > 1:
            con.execute(
                "CREATE TEMP TABLE import_seen (uid VARCHAR, content_hash VARCHAR, "
                "split VARCHAR, source VARCHAR, ci BIGINT, qi BIGINT)"
            )
            con.execute(
                "CREATE TEMP TABLE import_seen_ctx (uid VARCHAR, table_rows VARCHAR[][], "
                'paragraphs STRUCT(uid VARCHAR, "order" BIGINT, text VARCHAR)[], '
                "source VARCHAR, ci BIGINT)"
            )
        for original, path, split in files:
            callback = None
            if progress is not None:
                callback = _bind(progress, original)
            summaries.append(
                _import_one(con, path, split, callback, str(original), track=len(files) > 1)
            )
            fault_point("import")
        if len(files) > 1:
            con.execute("DROP TABLE import_seen")
            con.execute("DROP TABLE import_seen_ctx")
    fault_point("import")
    return summaries


STDIN_PREFIX = ".curator-import-"


@contextmanager
def _regular_file(path: Path, store_path: Path) -> Iterator[Path]:
    """`path` itself when it is a regular file, else a private copy of its bytes."""
    if str(path) != "-" and path.is_file():
        yield path
        return
    folder = store_path.resolve().parent
    remove_stale(folder, STDIN_PREFIX)
    copy = folder / private_name(STDIN_PREFIX, ".json")
    try:
        try:
            stdin = str(path) == "-"
            with open(0 if stdin else path, "rb", closefd=not stdin) as src, copy.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except OSError as exc:
            raise BadInput(str(path), "", f"cannot read: {exc.strerror or exc}") from exc
        if copy.stat().st_size == 0:
            raise BadInput(str(path), "", "no data (the input is empty)")
        yield copy
    finally:
        copy.unlink(missing_ok=True)


def import_file(
    store: Store, path: Path, split: str, *, progress: ProgressCallback | None = None
) -> ImportSummary:
    """Import one TAT-QA file into `store` as `split`; all of it, or (on bad input) none of it."""
    wrapped = None if progress is None else (lambda _path, stage, f: progress(stage, f))
    return import_files(store, [(path, split)], progress=wrapped)[0]


def _bind(progress: FileProgressCallback, path: Path) -> ProgressCallback:
    return lambda stage, fraction: progress(path, stage, fraction)


def _precheck(path: Path) -> None:
    source = str(path)
    if source == "-":
        return
    if not path.exists():
        raise BadInput(source, "", "no such file")
    if path.is_dir():
        raise BadInput(source, "", "is a directory, not a file")
    if path.is_file() and path.stat().st_size == 0:
        raise BadInput(source, "", "file is empty")


def _import_one(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    split: str,
    progress: ProgressCallback | None,
    source: str,
    *,
    track: bool = False,
) -> ImportSummary:
    digest: list[str] = []
    hasher = threading.Thread(target=_sha256_file, args=(path, digest), daemon=True)
    hasher.start()
    with _Progress(con, progress) as prog:
        with prog.step("reading", 0.0, 0.45):
            try:
                con.execute(
                    "CREATE TEMP TABLE raw AS SELECT row_number() OVER () AS ci, "
                    '"table", paragraphs, questions '
                    f"FROM read_json(?, format = 'array', columns = {_COLUMNS}, "
                    f"maximum_object_size = {MAX_CONTEXT_BYTES})",
                    [str(path)],
                )
            except (duckdb.Error, UnicodeDecodeError) as exc:
                # DuckDB quotes the offending bytes in its message; with invalid UTF-8 that
                # message itself fails to decode, hence UnicodeDecodeError here.
                raise _bad_from_duckdb(path, exc, source) from None
            fault_point("import")
        with prog.step("checking", 0.45, 0.25):
            _check_contexts(con, source, path)
            _stage_questions(con, split)
            _check_questions(con, source)
            duplicates = _check_duplicates(con, source)
            if track:
                _check_across_files(con, source)
            fault_point("import")
        with prog.step("writing", 0.7, 0.3):
            hasher.join()
            return _write(con, source, path, split, digest[0] if digest else "", duplicates)


def _check_contexts(con: duckdb.DuckDBPyConnection, source: str, path: Path) -> None:
    count = con.execute("SELECT count(*) FROM raw").fetchone()
    if not count or count[0] == 0:
        # DuckDB reads whitespace and `[]` alike as no rows; the careful reader tells them apart.
        raise diagnose(path, source) or BadInput(source, "top level", "no contexts")
    row = con.execute(
        "SELECT ci, json_extract_string(\"table\".uid, '$'), problem FROM ("
        f'SELECT ci, "table", {_CONTEXT_PROBLEM} AS problem FROM raw) '
        "WHERE problem IS NOT NULL ORDER BY ci LIMIT 1"
    ).fetchone()
    if row:
        raise BadInput(source, context_where(row[0], _uid_or_none(row[1])), row[2])
    # Checked per list rather than unnested: this runs on every import, the error path rarely.
    row = con.execute(
        "SELECT ci, json_extract_string(\"table\".uid, '$'), bad.i, bad.problem FROM ("
        'SELECT ci, "table", list_filter(list_transform(paragraphs, lambda p, i: '
        f"{{'i': i, 'problem': {_PARAGRAPH_PROBLEM}}}), lambda x: x.problem IS NOT NULL)[1] AS bad "
        "FROM raw) WHERE bad IS NOT NULL ORDER BY ci LIMIT 1"
    ).fetchone()
    if row:
        raise BadInput(source, f"{context_where(row[0], row[1])}, paragraph #{row[2]}", row[3])
    con.execute(
        "CREATE TEMP TABLE staged_ctx AS SELECT ci, "
        "json_extract_string(\"table\".uid, '$') AS uid, "
        'CAST("table"."table" AS VARCHAR[][]) AS table_rows, '
        "list_transform(paragraphs, lambda p: {'uid': json_extract_string(p.uid, '$'), "
        "'order': CAST(p.\"order\" AS BIGINT), 'text': json_extract_string(p.text, '$')}) "
        "AS paragraphs FROM raw"
    )
    # Contexts are compared by value, not by a stored hash: hashing every table and paragraph on
    # each import cost more than comparing the few uids that repeat or already exist.
    dup = con.execute(
        "SELECT uid, list(ci ORDER BY ci) FROM staged_ctx WHERE uid IN ("
        "SELECT uid FROM staged_ctx GROUP BY uid HAVING count(*) > 1) GROUP BY uid "
        "HAVING count(DISTINCT (table_rows, paragraphs)) > 1 ORDER BY min(ci) LIMIT 1"
    ).fetchone()
    if dup:
        a, b = dup[1][0], dup[1][1]
        raise BadInput(
            source,
            f"table uid {dup[0]!r}",
            f"appears in contexts #{a} and #{b} with different content",
        )


def _check_across_files(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Refuse a uid (or table uid) that an earlier file of this import gave other content.

    Within one file the same conflict is refused; across the files of one import it must be
    too, or the later file would silently replace the earlier one's record.
    """
    row = con.execute(
        "SELECT f.uid, f.ci, f.qi, s.source, s.ci, s.qi FROM fresh f JOIN import_seen s "
        "USING (uid) WHERE s.content_hash <> f.content_hash OR s.split <> f.split "
        "ORDER BY f.ci, f.qi LIMIT 1"
    ).fetchone()
    if row:
        raise BadInput(
            source,
            f"context #{row[1]} question #{row[2]} (uid {clip(row[0])!r})",
            f"{row[3]} (context #{row[4]} question #{row[5]}) has the same uid with different "
            "content or split; one import must agree on every uid",
        )
    row = con.execute(
        "SELECT f.uid, f.ci, s.source, s.ci FROM staged_ctx f JOIN import_seen_ctx s "
        "USING (uid) WHERE s.table_rows <> f.table_rows OR s.paragraphs <> f.paragraphs "
        "ORDER BY f.ci LIMIT 1"
    ).fetchone()
    if row:
        raise BadInput(
            source,
            context_where(row[1], row[0]),
            f"{row[2]} (context #{row[3]}) has the same table uid with different content; "
            "one import must agree on every uid",
        )
    con.execute(
        "INSERT INTO import_seen SELECT uid, content_hash, split, ?, ci, qi FROM fresh", [source]
    )
    con.execute(
        "INSERT INTO import_seen_ctx SELECT uid, table_rows, paragraphs, ?, ci FROM staged_ctx",
        [source],
    )


def _uid_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _stage_questions(con: duckdb.DuckDBPyConnection, split: str) -> None:
    """One pass over the questions: typed columns (lenient casts), content hash, and the problem.

    Casts are TRY_CASTs because a row with a problem is never written: the import stops on the
    first problem, and the problem column is computed from the untouched JSON values.
    """
    con.execute(
        "CREATE TEMP TABLE incoming AS SELECT ci, qi, context_uid, "
        "json_extract_string(q.uid, '$') AS uid, ? AS split, "
        'TRY_CAST(q."order" AS BIGINT) AS q_order, '
        "json_extract_string(q.question, '$') AS question, q.answer AS answer, "
        "json_extract_string(q.answer_type, '$') AS answer_type, "
        "json_extract_string(q.answer_from, '$') AS answer_from, "
        "json_extract_string(q.derivation, '$') AS derivation, "
        "json_extract_string(q.scale, '$') AS scale, "
        "TRY_CAST(q.rel_paragraphs AS VARCHAR[]) AS rel_paragraphs, "
        "TRY_CAST(q.req_comparison AS BOOLEAN) AS req_comparison, "
        "md5(concat_ws(chr(30), context_uid, "
        'CAST(q."order" AS VARCHAR), CAST(q.question AS VARCHAR), CAST(q.answer AS VARCHAR), '
        "CAST(q.answer_type AS VARCHAR), CAST(q.answer_from AS VARCHAR), "
        "CAST(q.derivation AS VARCHAR), CAST(q.scale AS VARCHAR), "
        "CAST(q.rel_paragraphs AS VARCHAR), CAST(q.req_comparison AS VARCHAR))) AS content_hash, "
        f"{_QUESTION_PROBLEM} AS problem "
        # Select-list unnest: several times faster than a lateral UNNEST ... WITH ORDINALITY.
        "FROM (SELECT ci, json_extract_string(\"table\".uid, '$') AS context_uid, "
        "unnest(questions) AS q, generate_subscripts(questions, 1) AS qi FROM raw)",
        [split],
    )


def _check_questions(con: duckdb.DuckDBPyConnection, source: str) -> None:
    row = con.execute(
        "SELECT ci, context_uid, qi, uid, problem FROM incoming "
        "WHERE problem IS NOT NULL ORDER BY ci, qi LIMIT 1"
    ).fetchone()
    if row:
        raise BadInput(source, question_where(row[0], row[1], row[2], row[3]), row[4])


def _check_duplicates(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """Refuse a uid that occurs twice with different content; count identical repeats."""
    counts = con.execute("SELECT count(*), count(DISTINCT uid) FROM incoming").fetchone()
    assert counts is not None
    if counts[0] == counts[1]:
        con.execute("CREATE TEMP VIEW fresh AS SELECT * FROM incoming")
        return 0
    dup = con.execute(
        "SELECT uid, list(ci ORDER BY ci, qi), list(qi ORDER BY ci, qi) FROM incoming "
        "GROUP BY uid HAVING count(DISTINCT content_hash) > 1 ORDER BY min(ci) LIMIT 1"
    ).fetchone()
    if dup:
        places = " and ".join(
            f"context #{c} question #{q}" for c, q in zip(dup[1][:2], dup[2][:2], strict=True)
        )
        raise BadInput(source, f"uid {dup[0]!r}", f"appears at {places} with different content")
    # Keep the first occurrence of each uid; later identical copies are counted as skipped.
    # Kept in file order, as `incoming` is: the write appends `fresh` as it is read.
    con.execute(
        "CREATE TEMP TABLE fresh AS SELECT * FROM incoming "
        "QUALIFY row_number() OVER (PARTITION BY uid ORDER BY ci, qi) = 1 ORDER BY ci, qi"
    )
    return int(counts[0] - counts[1])


def _drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Remove this file's staging tables so the next file in the transaction starts clean."""
    kinds = dict(
        con.execute(
            "SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE temporary UNION ALL "
            "SELECT view_name, 'VIEW' FROM duckdb_views() WHERE temporary AND NOT internal"
        ).fetchall()
    )
    for name in ("fresh", "raw", "staged_ctx", "incoming", "ctx_changed", "rec_changed"):
        if name in kinds:
            con.execute(f"DROP {kinds[name]} {name}")


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _empty(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `table` has no row yet: a first import appends without joining against it."""
    return con.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None


def _write(
    con: duckdb.DuckDBPyConnection,
    source: str,
    path: Path,
    split: str,
    sha256: str,
    duplicates: int,
) -> ImportSummary:
    import_id = _scalar(con, "SELECT coalesce(max(import_id), 0) + 1 FROM imports")
    n_fresh = _scalar(con, "SELECT count(*) FROM fresh")
    n_contexts = _scalar(con, "SELECT count(DISTINCT uid) FROM staged_ctx")
    n_ctx_rows = _scalar(con, "SELECT count(*) FROM staged_ctx")

    # Contexts: new, changed (old version kept in context_revisions), unchanged.
    con.execute(
        "CREATE TEMP TABLE ctx_changed AS SELECT DISTINCT f.uid FROM staged_ctx f "
        "JOIN contexts c USING (uid) WHERE c.split <> ? OR c.table_rows <> f.table_rows "
        "OR c.paragraphs <> f.paragraphs",
        [split],
    )
    n_changed_ctx = _scalar(con, "SELECT count(*) FROM ctx_changed")
    if n_changed_ctx:
        con.execute(
            "INSERT INTO context_revisions SELECT c.*, ? FROM contexts c "
            "WHERE c.uid IN (SELECT uid FROM ctx_changed)",
            [import_id],
        )
        con.execute(
            "UPDATE contexts SET split = ?, source_file = ?, table_rows = f.table_rows, "
            "paragraphs = f.paragraphs, "
            "revision = contexts.revision + 1, import_id = ? FROM staged_ctx f "
            "WHERE contexts.uid = f.uid AND f.uid IN (SELECT uid FROM ctx_changed)",
            [split, source, import_id],
        )
    # Into an empty table (a first import) every context is new: no join against it.
    first_contexts = _empty(con, "contexts")
    n_new_ctx = _scalar(
        con,
        "INSERT INTO contexts SELECT f.uid, ?, ?, f.table_rows, f.paragraphs, 1, ? "
        "FROM staged_ctx f "
        + ("" if first_contexts else "ANTI JOIN contexts c USING (uid) ")
        + (
            "QUALIFY row_number() OVER (PARTITION BY f.uid ORDER BY f.ci) = 1"
            if n_contexts < n_ctx_rows
            else ""
        ),
        [split, source, import_id],
    )

    # Records: the same three ways.
    con.execute(
        "CREATE TEMP TABLE rec_changed AS SELECT f.uid FROM fresh f JOIN records r USING (uid) "
        "WHERE r.content_hash <> f.content_hash OR r.split <> f.split"
    )
    n_changed = _scalar(con, "SELECT count(*) FROM rec_changed")
    changes: list[FieldChange] = []
    reviewed_changed = 0
    if n_changed:
        changes = _describe_changes(con)
        reviewed_changed = _scalar(
            con,
            "SELECT count(DISTINCT record_uid) FROM review_events "
            "WHERE record_uid IN (SELECT uid FROM rec_changed)",
        )
        con.execute(
            "INSERT INTO record_revisions SELECT r.* EXCLUDE (uid_md5_hi, uid_md5_lo), ? "
            "FROM records r "
            "WHERE r.uid IN (SELECT uid FROM rec_changed)",
            [import_id],
        )
        assignments = ", ".join(f"{c} = f.{c}" for c in (*_RECORD_FIELDS, "content_hash"))
        con.execute(
            f"UPDATE records SET {assignments}, revision = records.revision + 1, import_id = ? "
            "FROM fresh f WHERE records.uid = f.uid AND f.uid IN (SELECT uid FROM rec_changed)",
            [import_id],
        )
    # seq keeps file order without a sort: base + position in file (gaps are harmless).
    stride = 1 + _scalar(con, "SELECT coalesce(max(qi), 0) FROM incoming")
    cols = ", ".join(f"f.{c}" for c in _RECORD_FIELDS)
    # Into an empty table every record is new and `fresh` is already in file order (DuckDB
    # keeps insertion order): the rows are appended as read, with no join and no sort. Else
    # the join may reorder them (its sides are the planner's choice), so they are sorted.
    first_records = _empty(con, "records")
    n_new = _scalar(
        con,
        "INSERT INTO records SELECT "
        f"(SELECT coalesce(max(seq), 0) FROM records) + f.ci * {stride} + f.qi, "
        f"f.uid, {cols}, f.content_hash, 1, ?, {md5_halves_sql('f.uid')} FROM fresh f"
        + ("" if first_records else " ANTI JOIN records r USING (uid) ORDER BY f.ci, f.qi"),
        [import_id],
    )
    by_type = dict(
        con.execute("SELECT answer_type, count(*) FROM fresh GROUP BY answer_type").fetchall()
    )
    n_unchanged = n_fresh - n_new - n_changed
    con.execute(
        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP, ?, ?, ?, ?, ?)",
        [
            import_id,
            source,
            sha256,
            path.stat().st_size,
            split,
            n_contexts,
            n_fresh,
            n_new,
            n_changed,
            n_unchanged,
        ],
    )
    near_duplicates = refresh_for_import(con, "staged_ctx")
    _drop_staging(con)
    return ImportSummary(
        source=source,
        split=split,
        contexts=n_contexts,
        questions=n_fresh,
        new_contexts=n_new_ctx,
        changed_contexts=n_changed_ctx,
        new_records=n_new,
        changed_records=n_changed,
        unchanged_records=n_unchanged,
        duplicates_skipped=duplicates,
        by_answer_type={t: int(by_type.get(t, 0)) for t in ANSWER_TYPES},
        changes=tuple(changes),
        reviewed_changed=reviewed_changed,
        near_duplicate_contexts=near_duplicates,
    )


def _describe_changes(con: duckdb.DuckDBPyConnection) -> list[FieldChange]:
    """Field-level differences for the first changed records, for the import summary."""
    fields = (*_RECORD_FIELDS,)
    select_old = ", ".join(f"CAST(r.{f} AS VARCHAR)" for f in fields)
    select_new = ", ".join(f"CAST(f.{f} AS VARCHAR)" for f in fields)
    rows = con.execute(
        f"SELECT f.uid, [{select_old}], [{select_new}] FROM fresh f JOIN records r USING (uid) "
        "WHERE f.uid IN (SELECT uid FROM rec_changed) ORDER BY r.seq LIMIT ?",
        [MAX_LISTED_CHANGES],
    ).fetchall()
    changes = []
    for uid, old, new in rows:
        for name, before, after in zip(fields, old, new, strict=True):
            if before != after:
                changes.append(FieldChange(uid, name, before or "", after or ""))
    return changes
