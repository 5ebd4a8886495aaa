"""The lock files agree with pyproject.toml, and every declared dependency is used.

`make test` and CI install requirements-lock.txt with --require-hashes; the packaging test
installs requirements-runtime-lock.txt. A dependency edited in pyproject.toml without `make lock`
fails here, before it can make the installs drift.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def pins(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """{canonical name: (version, its sha256 hashes)} of a uv / pip-compile lock file."""
    found: dict[str, tuple[str, frozenset[str]]] = {}
    current: str | None = None
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            found[current] = (match.group(2), frozenset())
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = found[current]
            digest = line.strip().removeprefix("--hash=sha256:").rstrip(" \\")
            found[current] = (version, hashes | {digest})
    return found


def declared() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    extras = [
        Requirement(r)
        for group in project["optional-dependencies"].values()
        for r in group
        if canonicalize_name(Requirement(r).name) != "curator"
    ]
    return runtime, extras


def test_every_declared_dependency_is_pinned_within_its_bounds() -> None:
    runtime, extras = declared()
    lock, runtime_lock = pins("requirements-lock.txt"), pins("requirements-runtime-lock.txt")
    for requirement, where in [(r, lock) for r in runtime + extras] + [
        (r, runtime_lock) for r in runtime
    ]:
        name = canonicalize_name(requirement.name)
        assert name in where, f"{name} is not in the lock: run `make lock`"
        assert requirement.specifier.contains(where[name][0], prereleases=True), (
            f"{name}=={where[name][0]} is outside {requirement.specifier}: run `make lock`"
        )
    for requirement in runtime + extras:
        assert list(requirement.specifier.filter(["999999"])) == [], (
            f"{requirement.name} has no upper bound"
        )


def test_the_runtime_lock_is_the_dev_lock_without_the_tools() -> None:
    lock, runtime_lock = pins("requirements-lock.txt"), pins("requirements-runtime-lock.txt")
    assert set(runtime_lock) < set(lock)
    for name, pinned in runtime_lock.items():
        assert pinned == lock[name], f"{name}: the two locks disagree"
    for name, (_version, hashes) in lock.items():
        assert hashes, f"{name} has no hash"
    for tool in ("pytest", "ruff", "mypy", "uv", "moto"):
        assert tool not in runtime_lock


def _imported_roots() -> set[str]:
    roots: set[str] = set()
    for folder in ("curator", "store", "screens"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    roots |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    roots.add(node.module.split(".")[0])
    return roots


def test_every_runtime_dependency_is_imported() -> None:
    runtime, _extras = declared()
    imported = _imported_roots()
    unused = [r.name for r in runtime if r.name.replace("-", "_") not in imported]
    assert unused == []
