"""Near-duplicate contexts and repeated questions, found with an inverted index on figures.

Two copies of one financial table rarely share their text (another header layout, an extra
column, `$(9.8)` against `(9.8)`), but they share their figures. So a context's fingerprint is
the set of its *distinctive* figures, normalised: thousands separators, currency signs, percent
signs and the decimal point dropped, leading and trailing zeros stripped (so a rescaled copy,
1,234.5 thousand against 1.2345 million, still matches), parentheses and minus signs kept as a
sign. Years and short numbers (fewer than three significant digits: counts, notes, 100%) are not
distinctive and are left out, and so is any figure that more than `MAX_POSTINGS` contexts share.
A table with fewer than three distinctive figures is fingerprinted by its paragraphs' figures too.

Candidate pairs come from joining the figure postings on the figure (an inverted index), so the
work grows with the number of contexts that share a rare figure, never with all pairs. Each
candidate is then scored (see `SCORE_SQL`): how much of the smaller figure set the other holds,
with the text cells (row and column labels) and the paragraphs' figures as second signals, so the
same company's table a year later (half its figures shared) stays below the default threshold.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from curator.store.db import Store

#: A figure shared by more contexts than this is boilerplate, not evidence of a copy.
MAX_POSTINGS = 50
#: Fewest shared distinctive figures a candidate pair needs.
MIN_SHARED = 3
#: Tables with fewer distinctive figures than this are fingerprinted with their paragraphs too.
MIN_TABLE_FIGURES = 3
#: Score from which two contexts count as near-duplicates unless `--threshold` says otherwise.
DEFAULT_THRESHOLD = 0.8
#: DuckDB's buffer limit while pairs are computed (it spills to disk beyond it).
MEMORY_LIMIT = "1536MB"
#: Contexts with the same cells and paragraph texts are fingerprinted once (False: each on its
#: own, the reference the tests compare the shared path with).
SHARE_COPIES = True
#: Pairs scoring at least this are kept in the `near_duplicates` cache (read at any threshold
#: above it by the TUI).
CACHE_FLOOR = 0.5

# A number as written in a cell: optional parenthesis or minus, currency, digits with thousands
# separators and decimals (group 1), percent, closing parenthesis.
_NUMBER = r"\(?[-−–]? ?[$€£¥]? ?\(?(\d[\d,]*(?:\.\d+)?) ?%?\)?%?"


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: The characters a number match (`_NUMBER`, group 0) holds besides its digits, separators and
#: decimal point (group 1): deleting them from the match gives group 1, so one pass of the
#: regular expression is enough.
_NUMBER_DECORATION = "(-−–$€£¥ %)"


def _tokens_sql(cells: str) -> str:
    """SELECT cell, token FROM the relation `cells` (one `cell` text column): each number of a
    cell as its normalised figure.

    One pass of the regular expression gives each number as written (for its sign); its digits
    are that text without the decoration characters; the rest is plain string functions, cheap
    at millions of cells.
    """
    pattern = _sql_str(_NUMBER)
    return f"""
        SELECT DISTINCT cell, CASE WHEN neg THEN '-' ELSE '' END || sig AS token
        FROM (
            SELECT cell, num,
                   (contains(m, '(') AND contains(m, ')')) OR contains(m, '-')
                       OR contains(m, '−') OR contains(m, '–') AS neg,
                   ltrim(rtrim(replace(replace(num, ',', ''), '.', ''), '0'), '0') AS sig
            FROM (
                SELECT cell, m, translate(m, {_sql_str(_NUMBER_DECORATION)}, '') AS num
                FROM (SELECT cell, unnest(regexp_extract_all(cell, {pattern}, 0)) AS m
                      FROM {cells})
            )
        )
        WHERE length(sig) >= 3
          AND NOT (length(num) = 4 AND num BETWEEN '1900' AND '2099' AND NOT contains(num, '.'))
    """


def ensure_fingerprints(con: duckdb.DuckDBPyConnection) -> int:
    """Fingerprint every context whose current revision has none yet; return how many.

    A fingerprint is kept as integers (a context id, hashed figures and labels): every join and
    grouping of the pair search runs over numbers, several times faster than over text.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _fp_todo AS SELECT c.uid, c.revision FROM contexts c "
        "ANTI JOIN context_fingerprints f ON f.uid = c.uid AND f.revision = c.revision"
    )
    row = con.execute("SELECT count(*) FROM _fp_todo").fetchone()
    todo = int(row[0]) if row else 0
    if todo:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_old AS SELECT f.id FROM context_fingerprints f "
            "SEMI JOIN _fp_todo USING (uid)"
        )
        con.execute("DELETE FROM context_figures WHERE id IN (SELECT id FROM _fp_old)")
        con.execute("DELETE FROM context_labels WHERE id IN (SELECT id FROM _fp_old)")
        con.execute("DELETE FROM context_fingerprints WHERE id IN (SELECT id FROM _fp_old)")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_ids AS SELECT uid, revision, "
            "(SELECT coalesce(max(id), 0) FROM context_fingerprints) + row_number() OVER () AS id "
            "FROM _fp_todo"
        )
        # A fingerprint is a function of a context's cells and paragraph texts alone, so
        # contexts with the same content (a filing imported twice under other uids, a copied
        # template) are tokenised once, under their first id, and the result is copied to the
        # others at the end: the work grows with the distinct contents, not the contexts.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_groups AS SELECT min(i.id) AS rep, "
            "list(i.id) AS ids, count(*) AS n FROM contexts c JOIN _fp_ids i USING (uid) "
            + (
                "GROUP BY c.table_rows, list_transform(c.paragraphs, lambda p: p.text)"
                if SHARE_COPIES
                else "GROUP BY i.id"
            )
        )
        # The cells are read straight from the contexts each time they are needed: keeping
        # every cell of every context in a table cost more than unnesting the lists again.
        cells = (
            "(SELECT g.rep AS id, 't' AS part, unnest(flatten(c.table_rows)) AS cell "
            "FROM contexts c JOIN _fp_ids i USING (uid) JOIN _fp_groups g ON g.rep = i.id "
            "UNION ALL "
            "SELECT g.rep, 'p', unnest(list_transform(c.paragraphs, lambda p: p.text)) "
            "FROM contexts c JOIN _fp_ids i USING (uid) JOIN _fp_groups g ON g.rep = i.id)"
        )
        table_cells = (
            "(SELECT g.rep AS id, unnest(list_distinct(flatten(c.table_rows))) AS cell "
            "FROM contexts c JOIN _fp_ids i USING (uid) JOIN _fp_groups g ON g.rep = i.id)"
        )
        # Each distinct cell text is read once (tables repeat years, units, labels and empty
        # cells), then its tokens are joined back to the contexts that hold it.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_texts AS SELECT cell, "
            f"bool_or(part = 't') AS in_table FROM {cells} WHERE cell <> '' GROUP BY cell"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_tokens AS SELECT cell, hash(token) AS token "
            f"FROM ({_tokens_sql('_fp_texts')})"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_figs AS SELECT DISTINCT c.id, c.part, t.token "
            f"FROM {cells} c JOIN _fp_tokens t USING (cell)"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_labels AS SELECT cell, hash(label) AS label FROM ("
            "SELECT cell, trim(regexp_replace(lower(cell), '[^a-z]+', ' ', 'g')) AS label "
            # lower <> upper: the cell has a letter (a cheap test before the expression).
            "FROM _fp_texts WHERE in_table AND lower(cell) <> upper(cell)) "
            "WHERE length(label) >= 3"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_labs AS SELECT DISTINCT c.id, l.label "
            f"FROM {table_cells} c JOIN _fp_labels l USING (cell)"
        )
        copies = "(SELECT rep, unnest(ids) AS id FROM _fp_groups WHERE n > 1)"
        con.execute(
            "INSERT INTO context_figures SELECT id, part, token FROM _fp_figs UNION ALL "
            f"SELECT g.id, f.part, f.token FROM _fp_figs f JOIN {copies} g ON g.rep = f.id "
            "WHERE g.id <> g.rep"
        )
        con.execute(
            "INSERT INTO context_labels SELECT id, label FROM _fp_labs UNION ALL "
            f"SELECT g.id, f.label FROM _fp_labs f JOIN {copies} g ON g.rep = f.id "
            "WHERE g.id <> g.rep"
        )
        con.execute("INSERT INTO context_fingerprints SELECT uid, revision, id FROM _fp_ids")
        for name in (
            *("_fp_ids", "_fp_old", "_fp_groups", "_fp_texts", "_fp_tokens"),
            *("_fp_figs", "_fp_labels", "_fp_labs"),
        ):
            con.execute(f"DROP TABLE {name}")
    con.execute("DROP TABLE _fp_todo")
    return todo


@dataclass(frozen=True, slots=True)
class ContextPair:
    """Two near-duplicate contexts (a < b) and the evidence."""

    a: str
    b: str
    split_a: str
    split_b: str
    score: float
    figures: int
    labels: int
    paragraph_figures: int


@dataclass(frozen=True, slots=True)
class QuestionPair:
    """The same normalised question and answer on one context or two near-duplicate ones."""

    a: str
    b: str
    split_a: str
    split_b: str
    context_a: str
    context_b: str
    score: float
    question: str
    answer: str


#: Score of a candidate: 0.6 x figure containment + 0.3 x label containment + 0.1 x paragraph
#: figure containment. Labels weigh enough that a table whose figures another report merely
#: repeats under other headings (no text cell in common) stays below 0.8. A signal a side lacks
#: (no text cells, under three paragraph figures) counts as the figure containment, so it
#: neither helps nor hurts.
SCORE_SQL = """
    0.6 * fig
    + 0.3 * CASE WHEN least(la, lb) > 0 THEN lab / least(la, lb) ELSE fig END
    + 0.1 * CASE WHEN least(pa, pb) >= 3 THEN par / least(pa, pb) ELSE fig END
"""


def _count_shared(
    con: duckdb.DuckDBPyConnection,
    out: str,
    pairs: str,
    items: str,
    column: str,
    *,
    having: int = 1,
) -> None:
    """`out`(a, b, n): how many `column` values of `items` the two ids of each pair share.

    In two steps on purpose: given the three-way join at once, DuckDB may join `items` with
    itself on the value first, which explodes for a common label or figure.
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _lk_half AS SELECT c.a, c.b, x.{column} AS v "
        f"FROM {pairs} c JOIN {items} x ON x.id = c.a"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT h.a, h.b, count(*) AS n FROM _lk_half h "
        f"JOIN {items} y ON y.id = h.b AND y.{column} = h.v GROUP BY h.a, h.b "
        f"HAVING count(*) >= {having}"
    )
    con.execute("DROP TABLE _lk_half")


def _exact_copies(con: duckdb.DuckDBPyConnection) -> None:
    """Move the candidates that are exact copies out of `_lk_cand` into `_lk_same`(a, b, n, ln,
    pn): same figure set, same label set, same paragraph figures.

    Sets are compared by their (size, xor, sum) of hashed values, as the candidate star already
    does for figures; their shared counts are then the sets' sizes, with no join. A table
    copied many times (a filing imported twice, a template) would otherwise have every value of
    every copy joined against the first copy's.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _lk_ids AS SELECT a AS id FROM _lk_cand "
        "UNION SELECT b FROM _lk_cand"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _lk_sums AS SELECT i.id, "
        "coalesce(l.n, 0) AS ln, l.x AS lx, l.s AS ls, coalesce(p.n, 0) AS pn, p.x AS px, "
        "p.s AS ps FROM _lk_ids i "
        "LEFT JOIN (SELECT id, count(*) AS n, bit_xor(label) AS x, sum(label) AS s "
        "FROM context_labels SEMI JOIN _lk_ids USING (id) GROUP BY id) l ON l.id = i.id "
        "LEFT JOIN (SELECT id, count(*) AS n, bit_xor(token) AS x, sum(token) AS s "
        "FROM context_figures SEMI JOIN _lk_ids USING (id) WHERE part = 'p' GROUP BY id) p "
        "ON p.id = i.id"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _lk_same AS SELECT c.a, c.b, fa.n, sa.ln, sa.pn "
        "FROM _lk_cand c JOIN _lk_size fa ON fa.id = c.a JOIN _lk_size fb ON fb.id = c.b "
        "JOIN _lk_sums sa ON sa.id = c.a JOIN _lk_sums sb ON sb.id = c.b "
        "WHERE fa.n = fb.n AND fa.x = fb.x AND fa.s = fb.s "
        "AND sa.ln = sb.ln AND sa.lx IS NOT DISTINCT FROM sb.lx "
        "AND sa.ls IS NOT DISTINCT FROM sb.ls "
        "AND sa.pn = sb.pn AND sa.px IS NOT DISTINCT FROM sb.px "
        "AND sa.ps IS NOT DISTINCT FROM sb.ps"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _lk_cand AS SELECT * FROM _lk_cand "
        "ANTI JOIN _lk_same USING (a, b)"
    )
    con.execute("DROP TABLE _lk_ids")
    con.execute("DROP TABLE _lk_sums")


def _scope_sql(splits: Sequence[str]) -> str:
    """SELECT the fingerprint ids of the contexts in `splits` (all when empty)."""
    where = ""
    if splits:
        where = " WHERE c.split IN (" + ", ".join(_sql_str(s) for s in splits) + ")"
    return f"SELECT f.id FROM context_fingerprints f JOIN contexts c USING (uid){where}"


def compute_context_pairs(
    con: duckdb.DuckDBPyConnection,
    *,
    threshold: float,
    splits: Sequence[str] = (),
    focus: str | None = None,
) -> list[ContextPair]:
    """Near-duplicate context pairs scoring at least `threshold`, best first.

    `splits` keeps pairs whose two contexts are both in those splits; `focus` (a temp table with
    a `uid` column) keeps pairs with at least one context in it. How distinctive a figure is
    always counts over the whole store.
    """
    ensure_fingerprints(con)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _lk_fig AS
        SELECT id, token FROM context_figures WHERE part = 't'
        UNION
        SELECT id, token FROM context_figures WHERE part = 'p' AND id NOT IN (
            SELECT id FROM context_figures WHERE part = 't'
            GROUP BY id HAVING count(*) >= {MIN_TABLE_FIGURES})
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _lk_dist AS
        SELECT f.id, f.token FROM _lk_fig f SEMI JOIN (
            SELECT token FROM _lk_fig GROUP BY token
            HAVING count(*) BETWEEN 2 AND {MAX_POSTINGS}
        ) USING (token)
        """
    )
    # A context's whole figure set, summarised: equal (n, xor, sum) means the same set.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _lk_size AS SELECT id, count(*) AS n, "
        "bit_xor(token) AS x, sum(token) AS s FROM _lk_fig GROUP BY id"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _lk_scope AS {_scope_sql(splits)}")
    if focus is None:
        con.execute("CREATE OR REPLACE TEMP TABLE _lk_focus_ids AS SELECT id FROM _lk_scope")
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _lk_focus_ids AS SELECT f.id FROM context_fingerprints f "
            f"SEMI JOIN {focus} USING (uid)"
        )
    # Candidates: pairs sharing distinctive figures (the inverted index), plus each context
    # paired with the first of the contexts with exactly its figures: a table copied more often
    # than MAX_POSTINGS has no distinctive figure left, and a star of pairs links the copies
    # without listing every pair of them.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _lk_cand AS
        WITH d AS (SELECT * FROM _lk_dist SEMI JOIN _lk_scope USING (id))
        SELECT a.id AS a, b.id AS b
        FROM d a JOIN d b ON a.token = b.token AND a.id < b.id
        GROUP BY a.id, b.id HAVING count(*) >= {MIN_SHARED}
        UNION
        SELECT a, b FROM (
            SELECT min(id) OVER (PARTITION BY n, x, s) AS a, id AS b
            FROM _lk_size SEMI JOIN _lk_scope USING (id) WHERE n >= {MIN_SHARED}
        ) AS star
        WHERE a < b
        """
    )
    if focus is not None:
        con.execute(
            "DELETE FROM _lk_cand WHERE a NOT IN (SELECT id FROM _lk_focus_ids) "
            "AND b NOT IN (SELECT id FROM _lk_focus_ids)"
        )
    _exact_copies(con)
    # The evidence of each other candidate counts every figure, distinctive or not.
    _count_shared(con, "_lk_shared", "_lk_cand", "_lk_fig", "token", having=MIN_SHARED)
    # Each piece of evidence as its own small table: one statement with all of them as CTEs
    # let DuckDB's planner rescan the fingerprint tables per candidate (seconds per thousand).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _lk_inv AS "
        "SELECT a AS id FROM _lk_shared UNION SELECT b FROM _lk_shared "
        "UNION SELECT a FROM _lk_same UNION SELECT b FROM _lk_same"
    )
    # Labels and paragraph figures of the candidates only, before joining them pairwise: a
    # common label joined across the whole store would explode.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _lk_l AS "
        "SELECT id, label FROM context_labels SEMI JOIN _lk_inv USING (id)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _lk_p AS "
        "SELECT id, token FROM context_figures SEMI JOIN _lk_inv USING (id) WHERE part = 'p'"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _lk_sizes AS SELECT i.id, f.uid, c.split, s.n AS fn, "
        "(SELECT count(*) FROM _lk_l l WHERE l.id = i.id) AS ln, "
        "(SELECT count(*) FROM _lk_p p WHERE p.id = i.id) AS pn "
        "FROM _lk_inv i JOIN _lk_size s ON s.id = i.id "
        "JOIN context_fingerprints f ON f.id = i.id JOIN contexts c ON c.uid = f.uid"
    )
    _count_shared(con, "_lk_lab", "_lk_shared", "_lk_l", "label")
    _count_shared(con, "_lk_par", "_lk_shared", "_lk_p", "token")
    # Exact copies: every figure, label and paragraph figure shared (the sets' sizes).
    con.execute("INSERT INTO _lk_shared SELECT a, b, n FROM _lk_same")
    con.execute("INSERT INTO _lk_lab SELECT a, b, ln FROM _lk_same WHERE ln > 0")
    con.execute("INSERT INTO _lk_par SELECT a, b, pn FROM _lk_same WHERE pn > 0")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _lk_scored AS
        SELECT least(sa.uid, sb.uid) AS a, greatest(sa.uid, sb.uid) AS b,
               CASE WHEN sa.uid < sb.uid THEN sa.split ELSE sb.split END AS split_a,
               CASE WHEN sa.uid < sb.uid THEN sb.split ELSE sa.split END AS split_b,
               c.n AS fig_shared,
               c.n / least(sa.fn, sb.fn) AS fig,
               coalesce(lab.n, 0) AS lab, sa.ln AS la, sb.ln AS lb,
               coalesce(par.n, 0) AS par, sa.pn AS pa, sb.pn AS pb
        FROM _lk_shared c
        JOIN _lk_sizes sa ON sa.id = c.a JOIN _lk_sizes sb ON sb.id = c.b
        LEFT JOIN _lk_lab lab ON lab.a = c.a AND lab.b = c.b
        LEFT JOIN _lk_par par ON par.a = c.a AND par.b = c.b
        """
    )
    # The result stays in _lk_pairs for this connection: the cache and the question pairs are
    # made from it in SQL, however many pairs there are.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _lk_pairs AS
        SELECT a, b, split_a, split_b, round({SCORE_SQL}, 4) AS score,
               fig_shared AS figures, lab AS labels, par AS paragraph_figures
        FROM _lk_scored WHERE {SCORE_SQL} >= {float(threshold)!r}
        """
    )
    rows = con.execute("SELECT * FROM _lk_pairs ORDER BY score DESC, a, b").fetchall()
    for name in (
        *("_lk_fig", "_lk_dist", "_lk_size", "_lk_scope", "_lk_focus_ids", "_lk_cand"),
        *("_lk_shared", "_lk_same"),
        *("_lk_inv", "_lk_sizes", "_lk_l", "_lk_p", "_lk_lab", "_lk_par", "_lk_scored"),
    ):
        con.execute(f"DROP TABLE {name}")
    return [
        ContextPair(a, b, sa, sb, float(score), int(f), int(lab), int(par))
        for a, b, sa, sb, score, f, lab, par in rows
    ]


#: A question or answer reduced to lower-case words and numbers, so punctuation, spacing and
#: quoting differences do not hide a repeat.
def _normalised(expr: str) -> str:
    return f"trim(regexp_replace(lower(CAST({expr} AS VARCHAR)), '[^a-z0-9.\\-]+', ' ', 'g'))"


def compute_question_pairs(
    con: duckdb.DuckDBPyConnection, *, threshold: float, splits: Sequence[str] = ()
) -> list[QuestionPair]:
    """Records with the same normalised question and answer on one context or on a pair of
    near-duplicates (those in `_lk_pairs`, left by `compute_context_pairs`, scoring at least
    `threshold`)."""
    scope = "true"
    if splits:
        scope = "split IN (" + ", ".join(_sql_str(s) for s in splits) + ")"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _lq_pairs AS SELECT a, b, score FROM _lk_pairs "
        f"WHERE score >= {float(threshold)!r}"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _lq AS
        SELECT uid, context_uid, split, seq, {_normalised("question")} AS q,
               {_normalised("answer")} AS ans
        FROM records WHERE {scope} AND (
            context_uid IN (SELECT a FROM _lq_pairs UNION SELECT b FROM _lq_pairs)
            OR context_uid IN (
                SELECT context_uid FROM records WHERE {scope}
                GROUP BY context_uid, lower(question) HAVING count(*) > 1))
        """
    )
    found = con.execute(
        """
        SELECT x.uid, y.uid, x.split, y.split, x.context_uid, y.context_uid, p.score, x.q, x.ans
        FROM _lq_pairs p JOIN _lq x ON x.context_uid = p.a
        JOIN _lq y ON y.context_uid = p.b AND y.q = x.q AND y.ans = x.ans
        UNION ALL
        SELECT x.uid, y.uid, x.split, y.split, x.context_uid, y.context_uid, 1.0, x.q, x.ans
        FROM _lq x JOIN _lq y ON y.context_uid = x.context_uid AND y.q = x.q AND y.ans = x.ans
             AND x.seq < y.seq
        ORDER BY 7 DESC, 1, 2
        """
    ).fetchall()
    con.execute("DROP TABLE _lq")
    con.execute("DROP TABLE _lq_pairs")
    return [
        QuestionPair(a, b, sa, sb, ca, cb, float(score), q, ans)
        for a, b, sa, sb, ca, cb, score, q, ans in found
    ]


def _save_cache(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO near_duplicates SELECT a, b, score, figures, labels, paragraph_figures "
        f"FROM _lk_pairs WHERE score >= {CACHE_FLOOR!r}"
    )


def _in_scope(
    pairs: list[ContextPair], threshold: float, splits: Sequence[str]
) -> list[ContextPair]:
    scope = set(splits)
    return [
        p for p in pairs if p.score >= threshold and (not scope or {p.split_a, p.split_b} <= scope)
    ]


#: The tables the pair search keeps current (fingerprints and the cache of found pairs).
_CACHE_TABLES = ("context_fingerprints", "context_figures", "context_labels", "near_duplicates")


@contextmanager
def _pair_work(store: Store) -> Iterator[duckdb.DuckDBPyConnection]:
    """Where the pair search runs: one write transaction that keeps what it computes, or, on a
    store opened read-only (read-only media), a connection whose cache tables are temporary
    copies, so the search still works and nothing is written."""
    if not store.read_only:
        with store.transaction() as con:
            yield con
        return
    with store.connection() as con:
        row = con.execute("SELECT current_database()").fetchone()
        catalog = str(row[0]).replace('"', '""') if row else "main"
        for table in _CACHE_TABLES:
            con.execute(
                f'CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM "{catalog}".main.{table}'
            )
        try:
            yield con
        finally:
            for table in _CACHE_TABLES:
                con.execute(f"DROP TABLE IF EXISTS temp.main.{table}")


def context_pairs(
    store: Store, *, threshold: float, splits: Sequence[str] = ()
) -> list[ContextPair]:
    """All near-duplicate context pairs (recomputed); refreshes the store's cache of them."""
    with _pair_work(store) as con:
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        pairs = compute_context_pairs(con, threshold=min(threshold, CACHE_FLOOR))
        con.execute("DELETE FROM near_duplicates")
        _save_cache(con)
        con.execute("DROP TABLE _lk_pairs")
    return _in_scope(pairs, threshold, splits)


def find_pairs(
    store: Store, *, threshold: float, splits: Sequence[str] = ()
) -> tuple[list[ContextPair], list[QuestionPair]]:
    """Context pairs and question pairs (recomputed, in one transaction); refreshes the cache."""
    with _pair_work(store) as con:
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        pairs = compute_context_pairs(con, threshold=min(threshold, CACHE_FLOOR))
        con.execute("DELETE FROM near_duplicates")
        _save_cache(con)
        questions = compute_question_pairs(con, threshold=threshold, splits=splits)
        con.execute("DROP TABLE _lk_pairs")
    return _in_scope(pairs, threshold, splits), questions


def refresh_for_import(con: duckdb.DuckDBPyConnection, staged: str) -> int:
    """Within an import's transaction: update the cache for the contexts of `staged` (a temp
    table with a `uid` column) and return how many of them near-duplicate a context outside it.

    When no context is new or changed (a re-import), the cache is already current: only the
    count is read from it.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE _lk_focus AS SELECT DISTINCT uid FROM {staged}")
    if ensure_fingerprints(con):
        compute_context_pairs(con, threshold=CACHE_FLOOR, focus="_lk_focus")
        con.execute(
            "DELETE FROM near_duplicates WHERE a IN (SELECT uid FROM _lk_focus) "
            "OR b IN (SELECT uid FROM _lk_focus)"
        )
        _save_cache(con)
        con.execute("DROP TABLE _lk_pairs")
    row = con.execute(
        f"""
        SELECT count(DISTINCT uid) FROM (
            SELECT a AS uid FROM near_duplicates WHERE score >= {DEFAULT_THRESHOLD!r}
              AND a IN (SELECT uid FROM _lk_focus) AND b NOT IN (SELECT uid FROM _lk_focus)
            UNION ALL
            SELECT b FROM near_duplicates WHERE score >= {DEFAULT_THRESHOLD!r}
              AND b IN (SELECT uid FROM _lk_focus) AND a NOT IN (SELECT uid FROM _lk_focus)
        )
        """
    ).fetchone()
    con.execute("DROP TABLE _lk_focus")
    return int(row[0]) if row else 0


@dataclass(frozen=True, slots=True)
class Twin:
    """A near-duplicate of a context, as the record screen shows it."""

    context_uid: str
    split: str
    score: float
    record_uid: str | None


def twins_of(store: Store, context_uid: str, threshold: float) -> list[Twin]:
    """The cached near-duplicates of one context, best first, each with its first record."""
    with store.connection(about=()) as con:  # no decisions read: never waits for a fold
        rows = con.execute(
            """
            WITH t AS (
                SELECT b AS uid, score FROM near_duplicates WHERE a = ? AND score >= ?
                UNION ALL
                SELECT a, score FROM near_duplicates WHERE b = ? AND score >= ?
            )
            SELECT t.uid, c.split, t.score,
                   (SELECT r.uid FROM records r WHERE r.context_uid = t.uid ORDER BY r.seq
                    LIMIT 1)
            FROM t JOIN contexts c USING (uid) ORDER BY t.score DESC, t.uid
            """,
            [context_uid, threshold, context_uid, threshold],
        ).fetchall()
    return [Twin(u, s, float(score), r) for u, s, score, r in rows]


def has_twin_sql(column: str, threshold: float = DEFAULT_THRESHOLD) -> str:
    """A condition on a context uid `column`: the context has a cached near-duplicate."""
    floor = repr(float(threshold))
    return (
        f"{column} IN (SELECT a FROM near_duplicates WHERE score >= {floor} "
        f"UNION SELECT b FROM near_duplicates WHERE score >= {floor})"
    )


def overlapping_records(store: Store, split: str, pairs: Sequence[ContextPair]) -> dict[str, str]:
    """{record uid: why} for records whose table or question reappears in `split`.

    Why is "in-split" (the record is in `split`), "table" (its context near-duplicates one of
    `split`'s) or "question" (the same normalised question and answer is asked in `split`).
    """
    with store.connection() as con:
        con.execute("CREATE OR REPLACE TEMP TABLE _ov_ctx (uid VARCHAR)")
        split_ctx = {
            str(r[0])
            for r in con.execute("SELECT uid FROM contexts WHERE split = ?", [split]).fetchall()
        }
        twins = {p.b for p in pairs if p.a in split_ctx} | {p.a for p in pairs if p.b in split_ctx}
        if twins:
            con.executemany("INSERT INTO _ov_ctx VALUES (?)", [(u,) for u in sorted(twins)])
        rows = con.execute(
            f"""
            WITH keys AS (
                SELECT DISTINCT {_normalised("question")} AS q, {_normalised("answer")} AS ans
                FROM records WHERE split = $split
            )
            SELECT r.uid,
                   CASE WHEN r.split = $split THEN 'in-split'
                        WHEN r.context_uid IN (SELECT uid FROM _ov_ctx) THEN 'table'
                        ELSE 'question' END
            FROM records r LEFT JOIN keys k
                ON k.q = {_normalised("r.question")} AND k.ans = {_normalised("r.answer")}
            WHERE r.split = $split OR r.context_uid IN (SELECT uid FROM _ov_ctx)
               OR k.q IS NOT NULL
            """,
            {"split": split},
        ).fetchall()
        con.execute("DROP TABLE _ov_ctx")
    return {str(uid): str(why) for uid, why in rows}


def splits_in_store(store: Store) -> list[str]:
    with store.connection() as con:
        return [
            str(r[0])
            for r in con.execute("SELECT DISTINCT split FROM contexts ORDER BY 1").fetchall()
        ]


def splits_in_import_order(store: Store) -> list[str]:
    """The store's splits, the first imported first (how `curator leaks` orders a pair's sides
    when no `--split` names an order)."""
    with store.connection() as con:
        rows = con.execute("SELECT split FROM records GROUP BY split ORDER BY min(seq)").fetchall()
    return [str(r[0]) for r in rows]


def context_tables(store: Store, uids: Sequence[str]) -> dict[str, list[list[str]]]:
    """The table rows of the given contexts (for the side-by-side listing)."""
    if not uids:
        return {}
    with store.connection() as con:
        rows = con.execute(
            "SELECT uid, table_rows FROM contexts WHERE uid IN (SELECT unnest(?))", [list(uids)]
        ).fetchall()
    return {str(u): [list(map(str, row)) for row in table] for u, table in rows}
