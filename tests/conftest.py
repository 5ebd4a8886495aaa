"""Shared fixtures: the real TAT-QA files (skipped when absent), stores, and a CLI runner.

`make test` runs the suite on several processes (pytest-xdist, README: Development): every test
writes only under its own `tmp_path`, binds its servers to port 0 and changes the environment
through `monkeypatch`. Ready stores several tests start from are copies of templates built once
per process (tests/templates.py).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.fakes.servers import FakeAnthropic

# A runner started with `&` by a shell without job control passes SIGINT down ignored, and an
# ignored SIGINT survives exec: every curator a test starts would then never see its Ctrl-C (two
# judge tests failed so in a clean-clone CI run). The tests' processes get it at its default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parent.parent
SHARED_TATQA = ROOT.parent / "shared" / "data" / "tatqa"
SAMPLE_DATA = ROOT / "sample_data"
OFFICIAL_TATQA = ROOT.parent / "shared" / "reference" / "tatqa_official"


#: Modules whose tests take longest (processes, a wheel and a venv, the real files, kill -9 at
#: every step): run first, so that on several workers none of them starts last and alone.
#: Tests of a module whose module-scoped fixture is costly run on one worker (xdist_group).
SLOW_FIRST = (
    "tests/functional/test_packaging.py",
    "tests/functional/test_team_load.py",
    "tests/functional/test_crashes.py",
    "tests/functional/test_rules_pool.py",
    "tests/functional/test_concurrency.py",
    "tests/functional/test_pass_store_failure.py",
    "tests/functional/test_hostile_cli.py",
    "tests/functional/test_serve_browser.py",
)
ONE_WORKER = {
    "tests/functional/test_packaging.py",
    "tests/functional/test_crashes.py",
    "tests/functional/test_hostile_cli.py",
    "tests/functional/test_db_option.py",
    "tests/functional/test_export_stream.py",
    "tests/functional/test_environment_failures.py",
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow modules first (stable otherwise); costly module fixtures built on one worker."""

    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(module(item), len(rank)))
    for item in items:
        if module(item) in ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group(module(item)))


@pytest.fixture(autouse=True)
def _no_wall_clock_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The review app looks for other writers' changes every `REFRESH_SECONDS` (3 s). On a slow
    or loaded machine that timer fired in the middle of Pilot tests and, at a moment no test
    chose, re-read and cancelled the record workers the test was waiting for. Tests call
    `app.poll_changes()` themselves where other writers matter (test_concurrency)."""
    app = sys.modules.get("curator.screens.app")
    if app is not None:
        monkeypatch.setattr(app, "REFRESH_SECONDS", 24 * 3600.0)


@pytest.fixture(scope="session")
def tatqa_dir() -> Path:
    """../shared/data/tatqa; skipped when absent unless CI demands it (CURATOR_REQUIRE_SHARED=1)."""
    if not (SHARED_TATQA / "tatqa_dataset_dev.json").is_file():
        if os.environ.get("CURATOR_REQUIRE_SHARED") == "1":
            pytest.fail(f"{SHARED_TATQA} is missing and CURATOR_REQUIRE_SHARED=1")
        pytest.skip(f"{SHARED_TATQA} not present (fresh clone without the shared data)")
    return SHARED_TATQA


@pytest.fixture(scope="session")
def tatqa_official() -> Any:
    """The official TAT-QA `tatqa_metric` module (the oracle for metric tests).

    Skipped when ../shared/reference/tatqa_official or its numpy/scipy/pandas are absent, unless
    CURATOR_REQUIRE_SHARED=1 (CI), where that is a failure.
    """
    import importlib
    import sys

    if not (OFFICIAL_TATQA / "tatqa_metric.py").is_file():
        if os.environ.get("CURATOR_REQUIRE_SHARED") == "1":
            pytest.fail(f"{OFFICIAL_TATQA} is missing and CURATOR_REQUIRE_SHARED=1")
        pytest.skip(f"{OFFICIAL_TATQA} not present")
    if str(OFFICIAL_TATQA) not in sys.path:
        sys.path.insert(0, str(OFFICIAL_TATQA))
    try:
        return importlib.import_module("tatqa_metric")
    except ImportError as exc:
        if os.environ.get("CURATOR_REQUIRE_SHARED") == "1":
            raise
        pytest.skip(f"the official TAT-QA script cannot be imported: {exc}")


@pytest.fixture
def anthropic_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    """The loopback fake of the Anthropic API, with the key and base URL pointing at it (and no
    config file), for everything run in the test."""
    from tests.fakes.servers import FakeAnthropic

    fake = FakeAnthropic()
    fake.start()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
    monkeypatch.setenv("CURATOR_CONFIG", os.devnull)
    yield fake
    fake.stop()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `curator ARGS` in-process through the real entry point (error handling included)."""
    from curator.cli import main

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def tiny_context(ctx_uid: str = "ctx-1", q_uids: tuple[str, ...] = ("q-1",)) -> dict[str, Any]:
    """A minimal valid TAT-QA context; tests mutate copies of it to make bad input."""
    return {
        "table": {
            "uid": ctx_uid,
            "table": [["", "2019", "2018"], ["Revenue", "$1,200", "(110)"]],
        },
        "paragraphs": [{"uid": f"{ctx_uid}-p1", "order": 1, "text": "Revenue rose."}],
        "questions": [
            {
                "uid": uid,
                "order": i,
                "question": "What was revenue in 2019?",
                "answer": ["$1,200"],
                "derivation": "",
                "answer_type": "span",
                "answer_from": "table",
                "rel_paragraphs": [],
                "req_comparison": False,
                "scale": "thousand",
            }
            for i, uid in enumerate(q_uids, start=1)
        ],
    }


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path
