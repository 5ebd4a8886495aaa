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

from curator.domain import CuratorError

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


def load(env: dict[str, str] | None = None) -> Settings:
    """Read the config file (if any) and the environment into a Settings value."""
    env = dict(os.environ) if env is None else env
    path = config_path(env)
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CuratorError(f"{path}: invalid config file: {exc}") from exc
    store_section = data.get("store", {})
    if not isinstance(store_section, dict):
        raise CuratorError(f"{path}: [store] must be a table")
    db = env.get("CURATOR_DB") or store_section.get("db") or DEFAULT_DB
    reviewer = env.get("CURATOR_REVIEWER") or data.get("review", {}).get("reviewer") or ""
    return Settings(
        db=Path(str(db)).expanduser(),
        reviewer=str(reviewer) or _login_name(),
        config_path=path if path.is_file() else None,
        sections=data,
    )
