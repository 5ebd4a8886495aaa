"""`stand_ins.cut_at`, the cut both line templates (export lines, batch request lines) are made
with: a clean cut gives pieces that join back into the text, and every unclean one (a stand-in
missing, found twice, out of order, overlapping the previous one, or escaped by the serialiser)
gives None, which is what sends those callers to their plain path."""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii

import pytest

from curator.stand_ins import cut_at

U, A, C = "U0f3a", "A0f3a", "C0f3a"


def _joined(pieces: tuple[str, ...], marks: tuple[str, ...]) -> str:
    out = pieces[0]
    for mark, piece in zip(marks, pieces[1:], strict=True):
        out += mark + piece
    return out


@pytest.mark.parametrize(
    ("text", "marks", "pieces"),
    [
        ("head U0f3a mid A0f3a tail", (U, A), ("head ", " mid ", " tail")),
        ("U0f3aA0f3a", (U, A), ("", "", "")),  # marks at both ends, adjacent
        ("<C0f3a|U0f3a|A0f3a>", (C, U, A), ("<", "|", "|", ">")),
        ("é\u2028U0f3a\U0001f600A0f3a\n", (U, A), ("é\u2028", "\U0001f600", "\n")),
        ("only U0f3a here", (U,), ("only ", " here")),
        ("no marks at all", (), ("no marks at all",)),
    ],
)
def test_a_clean_cut_gives_the_pieces_that_join_back(
    text: str, marks: tuple[str, ...], pieces: tuple[str, ...]
) -> None:
    got = cut_at(text, marks)
    assert got == pieces
    assert _joined(got, marks) == text


@pytest.mark.parametrize(
    ("text", "marks"),
    [
        ("head mid A0f3a tail", (U, A)),  # the first missing
        ("head U0f3a mid tail", (U, A)),  # the last missing
        ("", (U, A)),
        ("U0f3a U0f3a A0f3a", (U, A)),  # one twice
        ("U0f3a A0f3a A0f3a", (U, A)),
        ("U0f3a A0f3a C0f3a C0f3a", (U, A, C)),  # the third twice
        ("A0f3a U0f3a", (U, A)),  # out of order
        ("C0f3a A0f3a U0f3a", (C, U, A)),
        ("U0f3a C0f3a A0f3a", (C, U, A)),
        ("xabcy", ("abc", "cy")),  # each once, but the second begins inside the first
        ("xabcy", ("abc", "b")),  # the second inside the first
    ],
)
def test_an_unclean_cut_is_refused(text: str, marks: tuple[str, ...]) -> None:
    assert cut_at(text, marks) is None


def test_an_empty_stand_in_is_a_mistake_not_a_cut() -> None:
    with pytest.raises(ValueError, match="empty"):
        cut_at("abc", ("a", ""))


def test_a_stand_in_the_serialiser_escapes_is_not_found_as_given() -> None:
    # The batch lines' stand-ins start with NUL, which JSON writes as \u0000: cut at the raw
    # stand-ins there is no clean cut; at the stand-ins as the encoder writes them there is.
    cid, text_mark = "\x00cid0f3a", "\x00text0f3a"
    line = json.dumps({"custom_id": cid, "params": {"user": text_mark}}, separators=(",", ":"))
    assert cut_at(line, (cid, text_mark)) is None
    marks = (encode_basestring_ascii(cid), encode_basestring_ascii(text_mark))
    head, middle, tail = cut_at(line, marks) or ("", "", "")
    assert (head, middle, tail) == ('{"custom_id":', ',"params":{"user":', "}}")
    # And a record's values spliced in give the whole serialisation's bytes.
    value = 'é"\n'
    spliced = head + encode_basestring_ascii("r-1") + middle + encode_basestring_ascii(value) + tail
    assert spliced == json.dumps(
        {"custom_id": "r-1", "params": {"user": value}}, separators=(",", ":")
    )


def test_an_escape_that_hides_or_repeats_a_stand_in_is_refused() -> None:
    # A stand-in holding a character the serialiser escapes is absent from its output as given.
    hidden = "U\n0f3a"
    line = json.dumps(["x", hidden, "y"])
    assert cut_at(line, (hidden,)) is None
    assert cut_at(line, ("U\\n0f3a",)) == ('["x", "', '", "y"]')
    # A value whose escaped form spells the stand-in makes it appear twice.
    line = json.dumps({"value": "\u00e9", "slot": "u00e9"})
    assert line.count("u00e9") == 2
    assert cut_at(line, ("u00e9",)) is None
