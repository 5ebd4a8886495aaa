"""The wheel a user installs: built from the source, installed into a fresh virtualenv, run from
an empty folder with no checkout on sys.path (what pipx, `uv tool install` or an index give).

Marked `packaging` (about a minute: it builds, creates a venv and installs the pinned runtime
dependencies from requirements-runtime-lock.txt). `make test` and CI run it; `make test-fast`
leaves it out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# repository folder -> installed package folder
MAPPING = {"curator": "curator", "store": "curator/store", "screens": "curator/screens"}
DATA_FOLDERS = {"sample_data": "curator/sample_data"}

pytestmark = pytest.mark.packaging

PILOT_SCRIPT = """
import json, sys
from curator.cli import main
from curator.screens.app import CuratorApp
from curator.screens.record import ReviewScreen

accepted = []
run = CuratorApp.run


async def settle(pilot):
    app = pilot.app
    for _ in range(100):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers):
            return
    raise AssertionError("workers did not settle")


async def drive(pilot):
    await settle(pilot)
    screen = next(s for s in pilot.app.screen_stack if isinstance(s, ReviewScreen))
    assert screen.detail is not None, "no record on screen"
    accepted.append(str(screen.detail.record.uid))
    await pilot.press("a")
    await settle(pilot)
    await pilot.press("q")


def headless(self, **kwargs):
    return run(self, headless=True, size=(120, 36), auto_pilot=drive)


CuratorApp.run = headless
main(sys.argv[1:])
print(json.dumps(accepted))
"""


def _source_files(folder: Path, pattern: str) -> set[Path]:
    return {
        p.relative_to(folder)
        for p in folder.rglob(pattern)
        if "__pycache__" not in p.parts and p.is_file()
    }


def expected_wheel_files() -> set[str]:
    """Every module of the three code folders and every data file, at its installed path."""
    expected: set[str] = set()
    for folder, target in MAPPING.items():
        for rel in _source_files(ROOT / folder, "*.py"):
            expected.add(f"{target}/{rel.as_posix()}")
    expected |= {
        f"curator/store/migrations/{p.name}" for p in (ROOT / "store/migrations").iterdir()
    }
    expected |= {f"curator/screens/{p.name}" for p in (ROOT / "screens").glob("*.tcss")}
    for folder, target in DATA_FOLDERS.items():
        for p in (ROOT / folder).iterdir():
            if p.is_file() and p.suffix in (".json", ".csv", ".md", ".py"):
                expected.add(f"{target}/{p.name}")
    return expected


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the source (the build leaves nothing in the checkout)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            ".*_cache",
            ".hypothesis",  # other test processes may be writing there meanwhile
            "*.duckdb*",
            "out",
        ),
    )
    dist = work / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*build, "--wheel-dir", str(dist), str(src)],
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = dist.glob("curator-*.whl")
    return built


def test_the_wheel_holds_every_subpackage_and_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = expected_wheel_files() - names
    assert missing == set()
    for package in ("curator/judges", "curator/export", "curator/screens/widgets"):
        assert f"{package}/__init__.py" in names
    assert any(n.startswith("curator/store/migrations/") and n.endswith(".sql") for n in names)
    assert "curator/screens/curator.tcss" in names
    assert "curator/sample_data/answer_key.csv" in names
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.startswith("curator")} == set()  # no store/, screens/, ...
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "curator = curator.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def _run(argv: list[str | Path], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{argv}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_installed_wheel_runs_demo_judge_export_and_review(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.pop("CURATOR_DB", None)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["CURATOR_CONFIG"] = os.devnull
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    pip: list[str | Path] = [
        bin_dir / "python",
        "-m",
        "pip",
        "--quiet",
        "--disable-pip-version-check",
    ]
    lock = ROOT / "requirements-runtime-lock.txt"
    # --no-compile: byte-compiling botocore, numpy & co. is most of the install's time and none
    # of what this test checks (Python compiles what the run imports anyway).
    _run([*pip, "install", "--no-compile", "--require-hashes", "-r", lock], tmp_path, env)
    _run([*pip, "install", "--no-compile", "--no-deps", wheel], tmp_path, env)
    _run([*pip, "check"], tmp_path, env)

    empty = tmp_path / "empty"
    empty.mkdir()
    curator = bin_dir / "curator"
    where = _run([bin_dir / "python", "-c", "import curator; print(curator.__file__)"], empty, env)
    assert Path(where.strip()).is_relative_to(venv)

    db = tmp_path / "mine.duckdb"
    demo = _run([curator, "--db", db, "demo", "--no-tui"], empty, env)
    assert db.is_file() and "152 records in 26 contexts" in demo
    assert list(empty.iterdir()) == []  # nothing written to the working folder

    judged = json.loads(_run([curator, "judge", "--db", db, "--json"], empty, env))
    assert judged["judged"] == 0  # the demo judged everything already; nothing is asked twice

    out = tmp_path / "out"
    export: list[str | Path] = [
        curator,
        "--db",
        db,
        "export",
        out,
        "--include-judged-correct",
        "rules",
    ]
    export += ["--validation-fraction", "0", "--target", "openai-chat", "--json"]
    manifest = json.loads(_run(export, empty, env))
    assert manifest["splits"]["train"]["records"] > 0
    assert (out / "train.jsonl").is_file() and (out / "manifest.json").is_file()

    script = tmp_path / "pilot_review.py"
    script.write_text(PILOT_SCRIPT, encoding="utf-8")
    review = _run(
        [bin_dir / "python", script, "--db", db, "review", "--reviewer", "pkg"], empty, env
    )
    (uid,) = json.loads(review.splitlines()[-1])
    rows = [
        json.loads(line)
        for line in _run([curator, "--db", db, "list", "--json"], empty, env).splitlines()
    ]
    assert [row["uid"] for row in rows if row["status"] == "accepted"] == [uid]
    assert list(empty.iterdir()) == []
