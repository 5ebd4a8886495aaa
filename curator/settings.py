"""Settings: where the store and config live, and every tunable that must not be buried in code.

Precedence, highest first: command-line options, `CURATOR_*` environment variables, the TOML
config file (`$CURATOR_CONFIG`, else `$XDG_CONFIG_HOME/curator/config.toml`, else
`~/.config/curator/config.toml`), then the defaults below. Model ids, prices and regions change
as Anthropic and AWS retire models, so they are settings a team can update without a release.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from curator.domain import BadInput

DEFAULT_DB = "curator.duckdb"
DEMO_DB = "curator-demo.duckdb"


@dataclass(frozen=True, slots=True)
class Settings:
    db: Path = Path(DEFAULT_DB)
    reviewer: str = ""
    config_path: Path | None = None
    #: Free-form sections of the config file that later features read (judge, export, eval).
    sections: dict[str, Any] = field(default_factory=dict)

    def with_db(self, db: str | os.PathLike[str] | None) -> Settings:
        return self if db is None else replace(self, db=Path(db))


def config_path(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    if env.get("CURATOR_CONFIG"):
        return Path(env["CURATOR_CONFIG"])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "curator" / "config.toml"


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "reviewer"


#: The type of each known setting, checked when the file is read so that a wrong value is one
#: line naming the file and the key (exit 2), not a failure deep inside a command. Keys not
#: listed here are left to the code that reads them.
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("judge", "backend"): ("rules", "anthropic", "bedrock"),
    ("judge", "table_format"): ("markdown", "html", "json", "latex"),
}
_STRINGS = {
    ("store", "db"),
    ("review", "reviewer"),
    ("judge", "model"),
    ("judge", "bedrock_model"),
    ("judge", "region"),
    ("judge", "batch_s3"),
    ("judge", "batch_role_arn"),
    ("export", "base_model"),
}
_INTEGERS: dict[tuple[str, str], tuple[int, int]] = {
    ("judge", "concurrency"): (1, 256),
    ("judge", "max_tokens"): (1, 1_000_000),
}


def check_config(path: Path, data: dict[str, Any]) -> None:
    """Raise BadInput naming the file and `[section] key` for the first wrong known value."""
    for section in ("store", "review", "judge", "export", "prices"):
        if section in data and not isinstance(data[section], dict):
            raise BadInput(str(path), f"[{section}]", "must be a table ([section] with keys)")
    for (section, key), allowed in _CHOICES.items():
        value = data.get(section, {}).get(key)
        if value is not None and value not in allowed:
            raise BadInput(
                str(path), f"[{section}] {key}", f"is {value!r}; expected one of {list(allowed)}"
            )
    for section, key in _STRINGS:
        value = data.get(section, {}).get(key)
        if value is not None and not isinstance(value, str):
            raise BadInput(str(path), f"[{section}] {key}", f"must be a string, found {value!r}")
    for (section, key), (low, high) in _INTEGERS.items():
        value = data.get(section, {}).get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise BadInput(
                str(path),
                f"[{section}] {key}",
                f"is {value!r}; expected a whole number from {low} to {high:,}",
            )


def load(env: dict[str, str] | None = None) -> Settings:
    """Read the config file (if any) and the environment into a Settings value.

    A file named by CURATOR_CONFIG must exist (a typo must not silently drop every setting);
    CURATOR_CONFIG=/dev/null means no config file. The default locations are optional.
    """
    env = dict(os.environ) if env is None else env
    path = config_path(env)
    data: dict[str, Any] = {}
    if env.get("CURATOR_CONFIG") == os.devnull:
        path = Path(os.devnull)  # explicitly no config file (scripts and tests)
    elif env.get("CURATOR_CONFIG") and not path.is_file():
        problem = "is a folder" if path.is_dir() else "no such file"
        raise BadInput(str(path), "", f"config file named by CURATOR_CONFIG: {problem}")
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BadInput(str(path), "", f"invalid config file: {exc}") from exc
        except OSError as exc:
            raise BadInput(str(path), "", f"cannot read: {exc.strerror or exc}") from exc
        check_config(path, data)
    store_section = data.get("store", {})
    db = env.get("CURATOR_DB") or store_section.get("db") or DEFAULT_DB
    reviewer = env.get("CURATOR_REVIEWER") or data.get("review", {}).get("reviewer") or ""
    return Settings(
        db=Path(str(db)).expanduser(),
        reviewer=str(reviewer) or _login_name(),
        config_path=path if path.is_file() else None,
        sections=data,
    )
