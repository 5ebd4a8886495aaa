"""The one escaping rule (curator.safe_text): what is unsafe, how each output escapes it."""

from __future__ import annotations

import io
import json
import sys

import pytest

from curator import safe_text
from tests.hostile import payloads, raw_controls


def test_the_compiled_rule_matches_is_unsafe_on_every_code_point() -> None:
    text = "".join(map(chr, range(0x110000)))
    unsafe = [code for code in range(0x110000) if safe_text.is_unsafe(chr(code))]
    # Escaped text has exactly the unsafe characters replaced, each by its escape.
    expected = list(text)
    for code in unsafe:
        expected[code] = (
            f"\\x{code:02x}"
            if code < 0x100
            else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        )
    assert safe_text.visible(text) == "".join(expected)
    # JSON gives the text back (lone surrogates left out: adjacent ones would pair up).
    no_surrogates = text[:0xD800] + text[0xE000:]
    assert json.loads(safe_text.dumps(no_surrogates)) == no_surrogates
    # The rule as documented: C0, DEL, C1, format (but ZWNJ/ZWJ), surrogates, separators.
    assert {0x1B, 0x7F, 0x85, 0x202E, 0x2066, 0xFEFF, 0xE0041, 0xD800, 0x2028} <= set(unsafe)
    assert not {0x200C, 0x200D, 0x20, 0xA0, 0x1F600} & set(unsafe)


@pytest.mark.parametrize(
    "ch",
    ["\x1b", "\x07", "\x00", "\r", "\x7f", "\x85", "\x9b", "\x9d", "\u202e", "\u202a", "\u2066",
     "\u2069", "\u200b", "\u200e", "\u061c", "\ufeff", "\u2028", "\u2029", "\u00ad",
     "\U000e0041", "\ud800"],
)  # fmt: skip
def test_controls_format_and_bidi_characters_are_unsafe(ch: str) -> None:
    assert safe_text.is_unsafe(ch)
    assert ch not in safe_text.visible(f"a{ch}b")
    assert ch not in safe_text.dumps({"k": f"a{ch}b"})


@pytest.mark.parametrize("ch", ["a", " ", "é", "€", "中", "😀", "\u200d", "\u200c", "[", "\\"])
def test_ordinary_text_is_kept(ch: str) -> None:
    assert not safe_text.is_unsafe(ch)
    assert safe_text.visible(ch) == ch


def test_visible_escapes_read_like_python_escapes() -> None:
    assert safe_text.visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert safe_text.visible("\u202eevil") == "\\u202eevil"
    assert safe_text.visible("\U000e0041") == "\\U000e0041"
    assert safe_text.visible("x\ny\tz") == "x\\x0ay\\x09z"
    assert safe_text.visible("x\ny\tz", keep_newlines=True, keep_tabs=True) == "x\ny\tz"


def test_one_line_collapses_whitespace_and_escapes_the_rest() -> None:
    assert safe_text.one_line("  a\n\tb  \x1b]0;t\x07 ") == "a b \\x1b]0;t\\x07"


def test_dumps_is_valid_json_that_gives_back_the_data() -> None:
    value = {"uid": "".join(payloads().values()), "n": [1, "é"]}
    text = safe_text.dumps(value)
    assert raw_controls(text) == []
    assert json.loads(text) == value
    assert "é" in text  # non-ASCII stays readable
    assert "\\udb40\\udc41" in text  # astral tag characters as a surrogate pair


def test_markup_is_escaped_for_rich() -> None:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=200, color_system=None)
    for payload in ("[@click=app.quit]CLICKME[/]", "[/]", "[bold red]x[/]", "[link=x]y[/link]"):
        console.print(safe_text.markup(payload))
    assert console.file.getvalue().splitlines() == [  # type: ignore[attr-defined]
        "[@click=app.quit]CLICKME[/]",
        "[/]",
        "[bold red]x[/]",
        "[link=x]y[/link]",
    ]


def test_clip_and_shown_cut_long_values() -> None:
    assert safe_text.clip("abc") == "abc"
    assert safe_text.clip("x" * 100) == "x" * 80 + "…(100 chars)"
    huge = "\x1b]52;c;AAAA\x07" * 1_000_000
    shown = safe_text.shown(huge)
    assert len(shown) < 200 and "(12,000,000 chars)" in shown and raw_controls(shown) == []
    assert safe_text.shown(["a\x9b"]) == "['a\\x9b']"


def test_error_line_keeps_start_and_end_of_a_huge_message() -> None:
    message = "data.json: field 'scale' is " + "\x1b[2J" * 100_000 + "; expected one of ''"
    line = safe_text.error_line(message)
    assert len(line) < 700 and "\n" not in line and raw_controls(line) == []
    assert line.startswith("data.json: field 'scale'") and line.endswith("expected one of ''")


def test_guarded_streams_escape_whatever_is_written_raw(capsys: pytest.CaptureFixture[str]) -> None:
    with safe_text.guarded_streams():
        print("a\x1b]0;t\x07 \u202e\x85 é\n\tb")
        print(json.dumps({"k": "\x85"}, ensure_ascii=False))
        sys.stderr.write("err\x1b[2J\n")
        assert not hasattr(sys.stdout, "buffer")  # nothing can reach past the guard
        assert safe_text.raw_stream(sys.stdout) is not sys.stdout
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "a\\u001b]0;t\\u0007 \\u202e\\u0085 é"
    assert out.splitlines()[1] == "\tb"
    assert json.loads(out.splitlines()[2]) == {"k": "\x85"}  # still valid JSON
    assert err == "err\\u001b[2J\n"
    assert not isinstance(sys.stdout, safe_text.GuardedStream)  # restored
