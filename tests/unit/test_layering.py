"""Architecture rules that must hold as the code grows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_core_and_store_never_import_textual() -> None:
    code = (
        "import importlib, pkgutil, sys, json\n"
        "import curator, curator.store\n"
        "for pkg in (curator, curator.store):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if m.name.startswith('curator.screens') or m.name == 'curator.__main__':\n"
        "            continue\n"
        "        importlib.import_module(m.name)\n"
        "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] == 'textual')))\n"
    )
    assert json.loads(_run(code)) == []


def test_help_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, json, contextlib, io\n"
        "from curator.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = {'textual', 'anthropic', 'boto3', 'botocore', 'duckdb', 'polars', 'rich'}\n"
        "print(json.dumps(sorted({k.split('.')[0] for k in sys.modules} & heavy)))\n"
    )
    assert json.loads(_run(code)) == []


def test_only_the_curator_namespace_is_installed(tmp_path: Path) -> None:
    code = (
        "import importlib.util as u, json\n"
        "print(json.dumps([u.find_spec(n) is not None for n in "
        "('curator', 'curator.store', 'curator.screens', 'curator.sample_data', "
        "'store', 'screens', 'sample_data')]))\n"
    )
    # Run outside the checkout so the repository's own folders are not on sys.path.
    assert json.loads(_run(code, cwd=tmp_path)) == [True, True, True, True, False, False, False]


def test_every_core_module_is_under_the_import_contract() -> None:
    """A new core module must be listed in pyproject's forbidden contract, or the static layering
    check (`make lint`) would silently skip it."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    forbidden = next(c for c in contracts if c["type"] == "forbidden")
    listed = set(forbidden["source_modules"])
    core = {
        f"curator.{p.stem}" if p.is_file() else f"curator.{p.name}"
        for p in (ROOT / "curator").iterdir()
        if (p.suffix == ".py" and not p.stem.startswith("__"))
        or (p.is_dir() and (p / "__init__.py").exists())
    }
    core -= {"curator.cli"}
    assert core | {"curator.store"} == listed


def test_every_text_field_of_the_tui_keeps_typing_order() -> None:
    """Text fields are `OrderedInput`/`OrderedTextArea` (screens/widgets/fields.py): Textual's
    own fields apply a backspace typed in a burst after the characters that followed it."""
    import ast

    plain = []
    for path in sorted((ROOT / "screens").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in ("Input", "TextArea", "MaskedInput"):
                plain.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert plain == []
