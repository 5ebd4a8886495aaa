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
from dataclasses import dataclass, field, fields, replace
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
    #: The config file with the environment applied, typed: what every command reads.
    config: Config = field(default_factory=lambda: Config())

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


@dataclass(frozen=True, slots=True)
class StoreConfig:
    db: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewConfig:
    reviewer: str | None = None
    #: A Markdown file of review guidelines (the TUI's `g`), relative to the config file.
    guidelines: str | None = None


@dataclass(frozen=True, slots=True)
class JudgeConfig:
    backend: str | None = None
    model: str | None = None
    bedrock_model: str | None = None
    region: str | None = None
    inference_profile: str | None = None
    concurrency: int | None = None
    #: Worker processes of a rules judge pass (default: one per core).
    workers: int | None = None
    max_tokens: int | None = None
    table_format: str | None = None
    thinking: str | None = None
    thinking_budget: int | None = None
    thinks_by_default: tuple[str, ...] | None = None
    batch_s3: str | None = None
    batch_role_arn: str | None = None
    #: Provider batch limits (defaults: the documented quotas, curator/judges/batch_chunks.py).
    batch_max_requests: int | None = None
    batch_max_bytes: int | None = None
    bedrock_batch_max_records: int | None = None
    bedrock_batch_max_bytes: int | None = None
    bedrock_batch_min_records: int | None = None
    #: DuckDB's memory cap (MB) while a batch pass runs (default: batch_chunks.py).
    batch_memory_limit_mb: int | None = None


@dataclass(frozen=True, slots=True)
class ExportConfig:
    base_model: str | None = None
    nova_base_model: str | None = None


@dataclass(frozen=True, slots=True)
class PriceConfig:
    """US$ per million tokens (`[prices."MODEL"]`); unset fields come from the model's default."""

    input: float | None = None
    output: float | None = None
    cache_write: float | None = None
    cache_read: float | None = None
    cache_min_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class SdkEnvironment:
    """The SDKs' own variables that change what curator chooses (not config-file settings)."""

    #: ANTHROPIC_API_KEY is set: the default judge is then anthropic rather than rules.
    anthropic_key_set: bool = False
    #: ANTHROPIC_BASE_URL: where the Anthropic backend sends requests (unless --base-url).
    anthropic_base_url: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """The config file, typed: every section and key curator reads, and nothing else; with the
    environment applied (`load`), so code reads settings here and never from os.environ."""

    store: StoreConfig = field(default_factory=StoreConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    prices: dict[str, PriceConfig] = field(default_factory=dict)
    #: `[keys]`: review TUI action -> key(s), checked by `curator.keymap.check_keys`.
    keys: dict[str, str] = field(default_factory=dict)
    sdk: SdkEnvironment = field(default_factory=SdkEnvironment)


_SECTIONS: dict[str, type[Any]] = {
    "store": StoreConfig,
    "review": ReviewConfig,
    "judge": JudgeConfig,
    "export": ExportConfig,
}

#: Settings with a closed set of values (the choices come from the code that uses them).
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("judge", "backend"): ("rules", "anthropic", "bedrock"),
    ("judge", "table_format"): ("markdown", "html", "json", "latex"),
    ("judge", "thinking"): ("off", "on", "model-default"),
}
_RANGES: dict[tuple[str, str], tuple[int, int]] = {
    ("judge", "concurrency"): (1, 256),
    ("judge", "workers"): (1, 256),
    ("judge", "max_tokens"): (1, 1_000_000),
    ("judge", "batch_max_requests"): (1, 100_000_000),
    ("judge", "batch_max_bytes"): (1, 1 << 40),
    ("judge", "bedrock_batch_max_records"): (1, 100_000_000),
    ("judge", "bedrock_batch_max_bytes"): (1, 1 << 40),
    ("judge", "bedrock_batch_min_records"): (1, 100_000_000),
    ("judge", "batch_memory_limit_mb"): (64, 1 << 20),
    ("judge", "thinking_budget"): (1024, 1_000_000),
}


def _typed_value(path: Path, where: str, kind: str, value: Any) -> Any:
    """`value` checked against a field's annotation; BadInput naming the file and key if wrong."""
    if kind.startswith("str"):
        if not isinstance(value, str):
            raise BadInput(str(path), where, f"must be a string, found {value!r}")
        return value
    if kind.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadInput(str(path), where, f"is {value!r}; expected a whole number")
        return value
    if kind.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadInput(str(path), where, f"is {value!r}; expected a number")
        return float(value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(str(path), where, f"is {value!r}; expected a list of strings")
    return tuple(value)


def _section(path: Path, name: str, cls: type[Any], table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise BadInput(str(path), where, "must be a table ([section] with keys)")
    kinds = {f.name: str(f.type) for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in kinds:
            raise BadInput(
                str(path), f"{where} {key}", f"unknown setting; known: {', '.join(kinds)}"
            )
        values[key] = _typed_value(path, f"{where} {key}", kinds[key], value)
        allowed = _CHOICES.get((name, key))
        if allowed is not None and value not in allowed:
            raise BadInput(
                str(path), f"{where} {key}", f"is {value!r}; expected one of {list(allowed)}"
            )
        bounds = _RANGES.get((name, key))
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            raise BadInput(
                str(path),
                f"{where} {key}",
                f"is {value!r}; expected a whole number from {bounds[0]} to {bounds[1]:,}",
            )
    return cls(**values)


def parse_config(path: Path, data: dict[str, Any]) -> Config:
    """The typed config of a parsed TOML file. An unknown section or key, or a value of the wrong
    type, is BadInput naming the file and `[section] key` (exit 2), so a typo never silently
    drops a setting and a wrong value never fails deep inside a command."""
    parts: dict[str, Any] = {}
    for name, table in data.items():
        if name == "prices":
            if not isinstance(table, dict):
                raise BadInput(str(path), "[prices]", 'must be a table of [prices."MODEL"] tables')
            parts["prices"] = {
                str(model): _section(path, "prices", PriceConfig, entry, f'[prices."{model}"]')
                for model, entry in table.items()
            }
        elif name == "keys":
            from curator.keymap import check_keys

            parts["keys"] = check_keys(path, table)
        elif name in _SECTIONS:
            parts[name] = _section(path, name, _SECTIONS[name], table, f"[{name}]")
        else:
            known = ", ".join([*_SECTIONS, "prices", "keys"])
            raise BadInput(str(path), f"[{name}]", f"unknown section; known: {known}")
    return Config(**parts)


#: Environment variables that override the config file, and the `[section] key` each replaces.
#: This is the one place environment precedence is applied (command-line options override both,
#: in the commands). Later entries win: AWS_REGION over AWS_DEFAULT_REGION. The SDKs read
#: their credentials themselves; the two Anthropic variables that change curator's choices are
#: read here too, into `Config.sdk`.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "CURATOR_DB": ("store", "db"),
    "CURATOR_REVIEWER": ("review", "reviewer"),
    "CURATOR_BATCH_S3": ("judge", "batch_s3"),
    "CURATOR_BATCH_ROLE_ARN": ("judge", "batch_role_arn"),
    "AWS_DEFAULT_REGION": ("judge", "region"),
    "AWS_REGION": ("judge", "region"),
}


def _sdk_environment(env: dict[str, str]) -> SdkEnvironment:
    return SdkEnvironment(
        anthropic_key_set=bool(env.get("ANTHROPIC_API_KEY")),
        anthropic_base_url=env.get("ANTHROPIC_BASE_URL") or None,
    )


def _with_environment(data: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for variable, (section, key) in ENVIRONMENT.items():
        if env.get(variable):
            merged.setdefault(section, {})[key] = env[variable]
    return merged


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
        except RecursionError as exc:  # tomllib recurses per level of nesting
            raise BadInput(str(path), "", "invalid config file: nested too deeply") from exc
        except OSError as exc:
            raise BadInput(str(path), "", f"cannot read: {exc.strerror or exc}") from exc
        parse_config(path, data)
    config = replace(parse_config(path, _with_environment(data, env)), sdk=_sdk_environment(env))
    return Settings(
        db=Path(config.store.db or DEFAULT_DB).expanduser(),
        reviewer=config.review.reviewer or _login_name(),
        config_path=path if path.is_file() else None,
        config=config,
    )
