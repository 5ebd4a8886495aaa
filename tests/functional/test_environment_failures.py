"""Every failure of the environment is one line naming what and where, with exit 2 or 3.

Destinations (an existing file, a read-only folder, a full disk), S3 (no bucket, no credentials,
no network), model services (every call failing, no AWS credentials), the config file, stores
that are not DuckDB or are corrupt, and stores on a read-only filesystem.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import duckdb
import pytest

from curator.llm import passes
from curator.store import Store
from tests.builders import import_sample_dev, write_transactions
from tests.conftest import SAMPLE_DATA, CliResult
from tests.fakes.aws import apply_env, moto_server
from tests.fakes.servers import Behaviour, Failure, FakeAnthropic, FakeBedrockRuntime
from tests.functional.faults import (
    curated_store,
    litter,
    read_only_view,
    small_filesystem,
    snapshot,
)
from tests.templates import store_copy

Run = Callable[..., CliResult]
T = TypeVar("T")


def one_line_error(result: CliResult, code: int, *words: str) -> str:
    """The result failed with `code` and exactly one line on stderr containing `words`."""
    assert result.code == code, (result.code, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("curator: error: "), lines[0]
    assert "internal error" not in lines[0] and "Traceback" not in result.err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return curated_store(tmp_path_factory.mktemp("env") / "store.duckdb")


# -- destinations ---------------------------------------------------------------------------


def test_export_onto_an_existing_file(run_cli: Run, curated: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("keep me\n")
    one_line_error(
        run_cli("--db", curated, "export", target, "--validation-fraction", "0.3"),
        3,
        str(target),
        "not a folder",
    )
    assert target.read_text() == "keep me\n"
    below = target / "sub"
    one_line_error(
        run_cli("--db", curated, "export", below, "--validation-fraction", "0.3"),
        3,
        str(target),
        "not a folder",
    )
    assert litter(tmp_path) == []


def test_export_into_a_read_only_folder(run_cli: Run, curated: Path, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    with read_only_view(folder, tmp_path / "ro") as ro:
        line = one_line_error(
            run_cli("--db", curated, "export", ro / "out", "--validation-fraction", "0.3"),
            3,
            str(ro / "out"),
        )
        assert "read-only file system" in line
    assert list(folder.iterdir()) == []


def test_export_onto_a_full_disk_keeps_the_old_export(
    run_cli: Run, curated: Path, tmp_path: Path
) -> None:
    with small_filesystem(tmp_path / "mnt", "400k") as mount:
        out = mount / "out"
        assert (
            run_cli(
                "--db", curated, "export", out, "--validation-fraction", "0.3", "--seed", "1"
            ).code
            == 0
        )
        old = snapshot(out)
        # The old export (~240 kB) and a staging copy of the new one do not fit in 400 kB.
        line = one_line_error(
            run_cli("--db", curated, "export", out, "--validation-fraction", "0.3", "--seed", "2"),
            3,
            str(out),
        )
        assert "no space left" in line
        assert snapshot(out) == old
        assert litter(mount, out) == []
        assert run_cli("validate", out).code == 0


# -- S3 -------------------------------------------------------------------------------------


def test_export_to_s3_without_bucket_credentials_or_network(
    run_cli: Run, curated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with moto_server() as url:
        apply_env(monkeypatch, {"AWS_ENDPOINT_URL_S3": url, "CURATOR_CONFIG": os.devnull})
        one_line_error(
            run_cli(
                "--db", curated, "export", "s3://no-such-bucket/v1", "--validation-fraction", "0.3"
            ),
            3,
            "s3://no-such-bucket/v1: export failed",  # looked at first, not after the export
            "bucket does not exist",
        )
        assert (
            run_cli(
                "--db", curated, "export", tmp_path / "out", "--validation-fraction", "0.3"
            ).code
            == 0
        )
        one_line_error(
            run_cli(
                "finetune",
                "start",
                "--export-dir",
                tmp_path / "out",
                "--s3",
                "s3://no-such-bucket/ft",
                "--role-arn",
                "arn:aws:iam::123456789012:role/x",
            ),
            3,
            "s3://no-such-bucket/ft/train.jsonl",
            "bucket does not exist",
        )
    apply_env(
        monkeypatch,
        {
            "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",  # nothing listens: no network
            "AWS_MAX_ATTEMPTS": "1",
            "CURATOR_CONFIG": os.devnull,
        },
    )
    one_line_error(
        run_cli("--db", curated, "export", "s3://tatqa/v1", "--validation-fraction", "0.3"),
        3,
        "s3://tatqa/",
        "cannot reach",
    )
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    one_line_error(
        run_cli("--db", curated, "export", "s3://tatqa/v1", "--validation-fraction", "0.3"),
        3,
        "s3://tatqa/",
        "credentials",
    )
    # The local scratch copies of these failed uploads are gone.
    assert not list(Path(tempfile.gettempdir()).glob(f".curator-s3-{os.getpid()}-*"))


# -- model services -------------------------------------------------------------------------


@pytest.fixture
def sample_store(tmp_path: Path) -> Path:
    """sample_dev.json imported: a copy of a store built once per process (tests/templates.py)."""
    return store_copy("sample-dev", import_sample_dev, tmp_path / "judge.duckdb")


def test_judge_exits_non_zero_when_every_call_failed(
    run_cli: Run, sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    behaviour = Behaviour(failures=deque(Failure(401) for _ in range(100)))
    with FakeAnthropic(behaviour) as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        monkeypatch.setenv("CURATOR_CONFIG", os.devnull)
        result = run_cli("--db", sample_store, "judge", "--judge", "anthropic", "--limit", "3")
        line = one_line_error(result, 3, "every call failed", "3 records", "401")
        assert "judged" in result.out  # the counts are still printed
        assert "internal" not in line
        # With one success the pass is not a failure.
        behaviour.failures.clear()
        behaviour.failures.extend([Failure(401), Failure(401)])
        ok = run_cli("--db", sample_store, "judge", "--judge", "anthropic", "--limit", "3")
        assert ok.code == 0, ok.err


def test_bedrock_without_credentials_fails_fast(
    run_cli: Run, sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without credentials every call would fail the same way, record after record (six
    attempts each, with backoff between them): the judge refuses before its first call. No
    model call is attempted, no retry waited for, no request reaches the service, nothing is
    stored."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("CURATOR_CONFIG", os.devnull)
    # Every model call of a pass goes through the one retry loop: record its attempts and the
    # waits between them (recorded, not slept, so a regression fails here instead of hanging).
    attempts: list[str] = []
    waits: list[float] = []
    real_call_with_retries = passes.call_with_retries

    async def recording_call_with_retries(
        call: Callable[[], Awaitable[T]], policy: passes.RetryPolicy = passes.RetryPolicy()
    ) -> tuple[T, int]:
        async def attempt() -> T:
            attempts.append("call")
            return await call()

        async def wait(delay: float) -> None:
            waits.append(delay)

        return await real_call_with_retries(attempt, policy, sleep=wait)

    monkeypatch.setattr(passes, "call_with_retries", recording_call_with_retries)
    before = sample_store.read_bytes()
    with FakeBedrockRuntime() as fake:
        result = run_cli(
            "--db", sample_store, "judge", "--judge", "bedrock", "--endpoint-url", fake.url
        )
    assert (attempts, waits) == ([], [])  # not six retries per record: not one call
    one_line_error(result, 3, "Bedrock", "no AWS credentials")
    assert (fake.calls, fake.requests) == (Counter(), Counter())
    assert sample_store.read_bytes() == before
    rows = run_cli("--db", sample_store, "list", "--json").json_lines()
    assert all(r["verdicts"] == {} for r in rows)  # nothing was stored as an error


def test_anthropic_without_a_key_is_exit_3_like_bedrock(
    run_cli: Run, sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Missing credentials are the environment (README: exit 3), for the Anthropic API too,
    for judge and predict alike; nothing is stored."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("CURATOR_CONFIG", os.devnull)
    before = sample_store.read_bytes()
    judged = run_cli("--db", sample_store, "judge", "--judge", "anthropic")
    one_line_error(judged, 3, "ANTHROPIC_API_KEY")
    predicted = run_cli(
        "--db", sample_store, "predict", "--backend", "anthropic", "--model", "claude-haiku-4-5"
    )
    one_line_error(predicted, 3, "ANTHROPIC_API_KEY")
    assert sample_store.read_bytes() == before


def test_import_onto_a_full_disk_is_exit_3_and_keeps_the_store(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's disk filling up during an import is the environment (exit 3, one line),
    whichever DuckDB error says so (a failed commit of the WAL was an internal error, exit 1),
    and the store keeps what it had."""
    monkeypatch.setenv("CURATOR_CONFIG", os.devnull)
    contexts = json.loads((SAMPLE_DATA / "sample_train.json").read_text("utf-8"))
    big = []
    for n in range(60):  # ~4 MB of new records: more than the filesystem has left
        for context in contexts:
            copy = json.loads(json.dumps(context))
            copy["table"]["uid"] = f"{n}-{copy['table']['uid']}"
            for question in copy["questions"]:
                question["uid"] = f"{n}-{question['uid']}"
            big.append(copy)
    data = tmp_path / "big.json"
    data.write_text(json.dumps(big), "utf-8")
    with small_filesystem(tmp_path / "mnt", "2m") as mount:
        db = mount / "store.duckdb"
        assert run_cli("--db", db, "import", SAMPLE_DATA / "sample_dev.json").code == 0
        before = run_cli("--db", db, "list", "--json").json_lines()
        full = run_cli("--db", db, "import", data)
        one_line_error(full, 3, "store.duckdb")
        assert run_cli("--db", db, "list", "--json").json_lines() == before
        assert run_cli("--db", db, "check").code == 0


# -- config ---------------------------------------------------------------------------------


def test_config_errors_name_file_and_key(
    run_cli: Run, sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "curator.toml"
    config.write_text('[judge]\nconcurrency = "lots"\n')
    monkeypatch.setenv("CURATOR_CONFIG", str(config))
    one_line_error(
        run_cli("--db", sample_store, "judge"), 2, str(config), "[judge] concurrency", "'lots'"
    )
    config.write_text('[judge]\nbackend = "gpt"\n')
    one_line_error(run_cli("--db", sample_store, "stats"), 2, str(config), "[judge] backend")
    config.write_text("[judge\n")
    one_line_error(run_cli("--db", sample_store, "stats"), 2, str(config), "invalid config")
    missing = tmp_path / "typo.toml"
    monkeypatch.setenv("CURATOR_CONFIG", str(missing))
    one_line_error(run_cli("--db", sample_store, "stats"), 2, str(missing), "no such file")
    monkeypatch.setenv("CURATOR_CONFIG", os.devnull)
    assert run_cli("--db", sample_store, "stats").code == 0


# -- stores ---------------------------------------------------------------------------------


def test_db_refuses_files_that_are_not_duckdb(run_cli: Run, tmp_path: Path) -> None:
    lite = tmp_path / "data.sqlite"
    con = sqlite3.connect(lite)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    cases = {
        lite: "SQLite",
        tmp_path / "data.json": "JSON",
        tmp_path / "empty.duckdb": "empty",
        tmp_path / "garbage.duckdb": "no DuckDB header",
    }
    (tmp_path / "data.json").write_text('[{"table": {}}]')
    (tmp_path / "empty.duckdb").write_bytes(b"")
    (tmp_path / "garbage.duckdb").write_bytes(bytes(range(256)) * 40)
    for path, word in cases.items():
        before = path.read_bytes()
        for command in (
            ("stats",),
            ("list",),
            ("check",),
            ("import", SAMPLE_DATA / "sample_dev.json"),
        ):
            result = run_cli("--db", path, *command)
            one_line_error(result, 3, str(path), "not a curator store", word)
        assert path.read_bytes() == before  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in cases)


def test_connections_never_install_or_load_extensions(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.duckdb", create=True)
    with store.connection() as con:
        settings = dict(
            con.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('autoinstall_known_extensions', 'autoload_known_extensions')"
            ).fetchall()
        )
        assert settings == {
            "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false",
        }
        with pytest.raises(duckdb.Error):
            con.execute("SELECT * FROM sqlite_scan('x.db', 't')")


def _flip_a_data_block(db: Path, table: str, column: str) -> None:
    """Overwrite bytes inside a data block of `table`.`column` (its checksum no longer fits)."""
    con = duckdb.connect(str(db), read_only=True)
    block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()
    row = con.execute(
        f"SELECT block_id, block_offset FROM pragma_storage_info('{table}') "
        f"WHERE column_name = '{column}' AND block_id >= 0 ORDER BY block_id LIMIT 1"
    ).fetchone()
    con.close()
    assert block_size and row, "no persistent data block to corrupt"
    header = 3 * 4096  # the file header and the two database headers
    offset = header + row[0] * block_size[0] + 8 + row[1] + 16  # past the block's checksum
    with db.open("r+b") as fh:
        fh.seek(offset)
        data = fh.read(64)
        fh.seek(offset)
        fh.write(bytes(b ^ 0xFF for b in data))


def test_check_reports_a_corrupt_store(run_cli: Run, curated: Path, tmp_path: Path) -> None:
    copy = tmp_path / "corrupt.duckdb"
    shutil.copy(curated, copy)
    con = duckdb.connect(str(copy))
    con.execute("CHECKPOINT")  # every row in data blocks, none only in the WAL
    con.close()
    assert run_cli("--db", copy, "check").code == 0
    _flip_a_data_block(copy, "records", "question")
    # A count reads no data block, so it still answers: that is why check reads them all.
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM records").fetchone() == (152,)
    result = run_cli("--db", copy, "check")
    line = one_line_error(result, 3, str(copy), "corrupt", "records")
    assert "checksum" in line
    # A command whose query meets the bad block says so in one line, too.
    listed = run_cli("--db", copy, "list", "--json")
    one_line_error(listed, 3, "store is corrupt")
    assert run_cli("--db", curated, "check").code == 0  # the original is whole


def test_reading_commands_work_on_a_read_only_filesystem(
    run_cli: Run, curated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    shutil.copy(curated, folder / "store.duckdb")
    wal = curated.with_name(curated.name + ".wal")
    if wal.exists():
        shutil.copy(wal, folder / "store.duckdb.wal")
    with read_only_view(folder, tmp_path / "ro") as ro:
        db = ro / "store.duckdb"
        # Opening reads the schema version in no write transaction, and no reading command
        # takes one.
        taken = write_transactions(monkeypatch, only=db)
        opened = Store.open(db, read_only=True)
        assert opened.schema_version() == opened.latest_version
        stats = run_cli("--db", db, "stats", "--json")
        assert stats.code == 0, stats.err
        assert json.loads(stats.out)["records"] == 152
        listed = run_cli("--db", db, "list", "--json", "--limit", "3")
        assert listed.code == 0 and len(listed.json_lines()) == 3
        check = run_cli("--db", db, "check")
        assert check.code == 0, check.err
        out = tmp_path / "out"
        exported = run_cli("--db", db, "export", out, "--validation-fraction", "0.3")
        assert exported.code == 0, exported.err
        assert run_cli("validate", out).code == 0
        # A judge's dry run only reads (estimates, no calls), so it works here too.
        dry = run_cli("--db", db, "judge", "--judge", "rules", "--dry-run", "--json")
        assert dry.code == 0, dry.err
        assert taken == []
        # Writing commands fail with one line.
        imported = run_cli("--db", db, "import", SAMPLE_DATA / "sample_dev.json")
        one_line_error(imported, 3, str(db))
    assert litter(folder) == []


# -- validate ---------------------------------------------------------------------------------


def test_validate_checks_the_manifest(run_cli: Run, curated: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert (
        run_cli("--db", curated, "export", a, "--validation-fraction", "0.3", "--seed", "1").code
        == 0
    )
    assert (
        run_cli("--db", curated, "export", b, "--validation-fraction", "0.3", "--seed", "2").code
        == 0
    )
    assert run_cli("validate", a / "train.jsonl", a / "validation.jsonl").code == 0
    # A new train file beside the old manifest: the mix a non-atomic export used to leave.
    shutil.copy(b / "train.jsonl", a / "train.jsonl")
    mixed = run_cli("validate", a / "train.jsonl", a / "validation.jsonl")
    assert mixed.code == 1 and "manifest.json" in mixed.out and "train.jsonl" in mixed.out
    # A file the manifest lists is missing.
    (b / "validation.jsonl").unlink()
    missing = run_cli("validate", b)
    assert missing.code == 1 and "validation.jsonl: listed in" in missing.out
    # Same size, one byte changed: only the hash can tell.
    c = tmp_path / "c"
    assert run_cli("--db", curated, "export", c, "--validation-fraction", "0.3").code == 0
    text = (c / "train.jsonl").read_bytes()
    i = text.index(b"<question>") + len(b"<question>")
    (c / "train.jsonl").write_bytes(text[:i] + bytes([text[i] ^ 0x20]) + text[i + 1 :])
    edited = run_cli("validate", c)
    assert edited.code == 1 and "sha256" in edited.out
    # No manifest: the files alone are checked.
    (c / "manifest.json").unlink()
    assert run_cli("validate", c).code == 0
