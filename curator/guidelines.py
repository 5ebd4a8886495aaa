"""The team's review guidelines: a Markdown file named in the config, shown in the review TUI.

`[review] guidelines = "path.md"` is read relative to the config file (so a team can keep the
config and its guidelines side by side in a shared folder). Reading never fails the session: a
missing, unreadable or oversized file is a one-line message the guidelines panel shows instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from curator.settings import Settings

#: Largest guidelines file shown (a guide, not a library); longer files are cut with a note.
GUIDELINES_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class Guidelines:
    """The guidelines' text, or why there is none to show (exactly one of the two is set)."""

    text: str | None
    problem: str = ""
    path: Path | None = None


def guidelines_path(settings: Settings) -> Path | None:
    """The configured guidelines file, relative paths taken from the config file's folder."""
    value = settings.config.review.guidelines
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_absolute() and settings.config_path is not None:
        path = settings.config_path.parent / path
    return path


def read_guidelines(path: Path | None) -> Guidelines:
    """Read the guidelines file; a problem is returned as a message, never raised."""
    if path is None:
        return Guidelines(
            None,
            "No guidelines are configured. Name a Markdown file in the config: "
            '[review] guidelines = "guidelines.md" (relative to the config file).',
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(GUIDELINES_BYTES + 1)
    except FileNotFoundError:
        return Guidelines(None, f"Guidelines file {path} does not exist ([review] guidelines).")
    except IsADirectoryError:
        return Guidelines(None, f"Guidelines file {path} is a folder ([review] guidelines).")
    except OSError as exc:
        return Guidelines(
            None, f"Guidelines file {path} cannot be read: {exc.strerror or exc}.", path
        )
    cut = len(data) > GUIDELINES_BYTES
    try:
        text = data[:GUIDELINES_BYTES].decode("utf-8", errors="strict" if not cut else "ignore")
    except UnicodeDecodeError as exc:
        return Guidelines(
            None, f"Guidelines file {path} is not UTF-8 text (byte {exc.start}).", path
        )
    if cut:
        text += f"\n\n*(cut at {GUIDELINES_BYTES:,} bytes)*\n"
    if not text.strip():
        return Guidelines(None, f"Guidelines file {path} is empty.", path)
    return Guidelines(text, "", path)
