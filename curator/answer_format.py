"""The answer as a model writes it: the export's assistant turn, and the one parser that reads a
model's text answer back into TAT-QA's (answer, scale).

The rendering is short (the point of fine-tuning for fewer output tokens) and exactly
invertible: `parse_answer(render_target(answer, scale))` gives back the spans and the scale, so
the exported target scores EM 1 and scale right against its own record (tests check every record
of the dev and test gold files). The form:

- one span per line (a multi-span answer is several lines; numbers as the data has them);
- the scale after the last line: " thousand", " million", " billion", or "%" for percent;
- a span is put in double quotes when it would otherwise be misread: the last span of an answer
  whose own text ends with a scale word or "%" (a span "$1.1 billion" of scale ""), a span
  already in quotes, an empty span, or one with spaces at either end.

Examples: `1,496.5 million`, `24.41%`, `Copper` + newline + `Zinc`, `"$1.1 billion"`,
`(66)%` + newline + `"(223)%"%`.

The parser reads any model's text with the same rules: the last <answer>...</answer> when
there is one (its &lt; &gt; &amp; unescaped), else the whole text; lines are spans (blank lines
dropped, each stripped); the last line's trailing "%" / "percent" / "thousand(s)" / "million(s)"
/ "billion(s)" (any case, an optional final "."; "%." only after a number) is the scale and is
removed; a line in double quotes is unquoted. A text with no span left is an empty answer,
which scores 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from curator.tatqa_metric import looks_numeric

#: How the target renders each scale after the last span.
SCALE_SUFFIX: Final = {
    "": "",
    "thousand": " thousand",
    "million": " million",
    "billion": " billion",
    "percent": "%",
}

_SUFFIX = re.compile(
    r"^(?P<rest>.*?)(?:\s*%|\s+(?P<word>thousand|million|billion|percent)s?\.?)$",
    re.IGNORECASE | re.DOTALL,
)
#: "12.5%." (a sentence's final point after the sign): percent only when a number precedes it, so
#: a span quoting a sentence ("... is 3.3%.", scale "") stays text, as older exports wrote it.
_PERCENT_POINT = re.compile(r"^(?P<rest>.*?)\s*%\.$", re.DOTALL)
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)


def render_number(value: float | int) -> str:
    """A number as the data has it: integers without a decimal point, floats shortest-exact."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return "-0.0" if value == 0 and str(value).startswith("-") else str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def answer_spans(answer: Sequence[str | int | float] | str | int | float) -> list[str]:
    if isinstance(answer, list | tuple):
        return [str(a) for a in answer]
    if isinstance(answer, int | float) and not isinstance(answer, bool):
        return [render_number(answer)]
    return [str(answer)]


def _needs_quotes(span: str, last: bool) -> bool:
    if not span or span != span.strip():
        return True
    if len(span) >= 2 and span[0] == span[-1] == '"':
        return True
    return last and _scale_suffix(span) is not None


def _scale_suffix(line: str) -> tuple[str, str] | None:
    """(the line without its trailing scale, the scale) when the line ends with one."""
    suffix = _SUFFIX.match(line)
    if suffix is not None:
        word = suffix.group("word")
        return suffix.group("rest").rstrip(), word.lower() if word else "percent"
    point = _PERCENT_POINT.match(line)
    if point is not None and looks_numeric(point.group("rest")):
        return point.group("rest").rstrip(), "percent"
    return None


def render_target(answer: Sequence[str | int | float] | str | int | float, scale: str) -> str:
    """The assistant turn's answer text for a record (see the module docstring).

    A line break inside a span cannot be kept (lines separate spans): it becomes a space.
    """
    spans = [" ".join(s.replace("\r", "\n").split("\n")) for s in answer_spans(answer)]
    lines = []
    for i, span in enumerate(spans):
        lines.append(f'"{span}"' if _needs_quotes(span, i == len(spans) - 1) else span)
    return "\n".join(lines) + SCALE_SUFFIX.get(scale, f" {scale}" if scale else "")


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """A text answer read as TAT-QA reads answers: spans and a scale."""

    spans: list[str]
    scale: str


def answer_text(output: str) -> str:
    """The answer part of a model's reply: inside the last <answer> tags (unescaped), else all."""
    found = _ANSWER_TAG.findall(output)
    if not found:
        return output.strip()
    inner: str = found[-1]
    return inner.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _unquote(line: str) -> str:
    return line[1:-1] if len(line) >= 2 and line[0] == line[-1] == '"' else line


def parse_answer(text: str) -> ParsedAnswer:
    """Read a model's text answer (or a rendered target) as spans and a scale."""
    lines = [line.strip() for line in answer_text(text).split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return ParsedAnswer([], "")
    scale = ""
    suffix = _scale_suffix(lines[-1])
    if suffix is not None:
        lines[-1], scale = suffix
        if not lines[-1]:
            lines.pop()
    return ParsedAnswer([_unquote(line) for line in lines], scale)
