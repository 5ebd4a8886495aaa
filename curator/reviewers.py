"""Reviewer names: the one rule for what a name stored on decisions, notes and undo events may
be, whichever way it arrives (`--reviewer` on review, note and decide; `?reviewer=` or the
login form of `curator serve`; the config, CURATOR_REVIEWER or the login name by default).

One rule, so the same person has the same identity however they work: a name `serve` refuses
is refused on the command line too (exit 2), and whitespace is collapsed the same way.
"""

from __future__ import annotations

from curator import safe_text
from curator.domain import BadInput, CuratorError

#: Longest reviewer name accepted (names are stored on every decision and shown in the TUI).
MAX_REVIEWER = 64


class BadReviewer(CuratorError):
    """A reviewer name that cannot be stored as given."""

    exit_code = 2


def clean_reviewer(name: str) -> str:
    """The reviewer name as stored, or BadReviewer saying why it is refused.

    Names come from a URL or a form anyone can type into, and end up on every decision and on
    screen: control, bidi and invisible characters are refused rather than escaped (a name is an
    identity, it should look like what it is), and so is a leading '-' (it would read as an
    option on the app's command line).
    """
    name = " ".join(name.split())
    if not name:
        raise BadReviewer("the reviewer name is empty")
    if len(name) > MAX_REVIEWER:
        raise BadReviewer(f"the reviewer name is longer than {MAX_REVIEWER} characters")
    if any(safe_text.is_unsafe(ch) for ch in name):
        # Quoted as written with its escapes (`\x1b`), as every output shows them: repr()
        # of the escaped text doubled them.
        raise BadReviewer(
            f"the reviewer name '{safe_text.one_line(name)}' has invisible characters"
        )
    if "\ufffd" in name:
        # What a web form or address whose bytes are not UTF-8 decodes to (the command line
        # gets surrogates, refused above): every such name would become one identity.
        raise BadReviewer(
            f"the reviewer name '{safe_text.one_line(name)}' is not UTF-8 text (� stands for "
            "bytes that could not be read)"
        )
    if name.startswith("-"):
        raise BadReviewer("the reviewer name cannot start with '-'")
    return name


#: Where the default name comes from, for the error when it is refused.
DEFAULT_SOURCE = "reviewer name (from CURATOR_REVIEWER, [review] reviewer or the login name)"


def reviewer_of(option: str | None, default: str) -> str:
    """The name a command stores: its --reviewer, else the default, checked by `clean_reviewer`;
    a refused name is bad input (exit 2) on one line naming where it came from."""
    try:
        return clean_reviewer(option if option is not None else default)
    except BadReviewer as exc:
        source = "--reviewer" if option is not None else DEFAULT_SOURCE
        raise BadInput(source, "", str(exc)) from exc
