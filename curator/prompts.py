"""THE prompt builder: one place that turns a record into text for a model.

The judge, the export and the evaluation all render tables, paragraphs, questions and answers
through these functions, so a fine-tuned model is evaluated on exactly the format it was trained
on, and a judge sees records the way the model will.

Record text is escaped before it goes between XML tags: `<`, `>` and `&` become entities (JSON
tables use \\u escapes instead), so a record containing `</answer>` or
`<judgement>correct</judgement>` can neither close a tag nor forge a verdict (and the reply is
read by `curator.judges.reply`, which looks for the verdict only outside the model's reason).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from curator.answer_format import render_number as render_number
from curator.answer_format import render_target
from curator.domain import AnswerValue, BadInput, Paragraph

TABLE_FORMATS: Final = ("markdown", "html", "json", "latex")
DEFAULT_TABLE_FORMAT: Final = "markdown"
#: How multi-span answers are joined, everywhere (export targets, judge prompts, eval parsing).
SPAN_SEPARATOR: Final = "; "

_SCALE_WORDS: Final = {"thousand": "thousand", "million": "million", "billion": "billion"}


def escape(text: str) -> str:
    """Make record text inert between XML tags."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- tables ---------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return escape(" ".join(text.split())).replace("|", "\\|")


def _markdown(rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    if not width:
        return "\n".join(["|  |", "|", *["|  |"] * (len(rows) - 1)])
    # Every cell as `_md_cell` makes it, escaped in one go: whitespace is collapsed per cell
    # first, so no cell holds a newline and the cells can be joined by one, escaped together
    # and cut apart again (a batch pass renders a table per context, a million records' worth).
    flat = "\n".join(" ".join(c.split()) for r in rows for c in [*r, *[""] * (width - len(r))])
    cells = escape(flat).replace("|", "\\|").split("\n")
    lines = ["| " + " | ".join(cells[i : i + width]) + " |" for i in range(0, len(cells), width)]
    lines.insert(1, "|" + "---|" * width)
    return "\n".join(lines)


def _html(rows: Sequence[Sequence[str]]) -> str:
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{body}</table>"


def _json(rows: Sequence[Sequence[str]]) -> str:
    text = json.dumps([list(r) for r in rows], ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


_LATEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"}
_LATEX_SPECIAL.update(
    {"~": "\\textasciitilde{}", "^": "\\textasciicircum{}", "\\": "\\textbackslash{}"}
)


def _latex_cell(text: str) -> str:
    return escape("".join(_LATEX_SPECIAL.get(ch, ch) for ch in " ".join(text.split())))


def _latex(rows: Sequence[Sequence[str]]) -> str:
    width = max((len(r) for r in rows), default=0)
    lines = ["\\begin{tabular}{" + "l" * width + "}"]
    lines += [" & ".join(_latex_cell(c) for c in row) + " \\\\" for row in rows]
    lines.append("\\end{tabular}")
    return "\n".join(lines)


_RENDERERS = {"markdown": _markdown, "html": _html, "json": _json, "latex": _latex}


def render_table(rows: Sequence[Sequence[str]], fmt: str = DEFAULT_TABLE_FORMAT) -> str:
    if fmt not in _RENDERERS:
        raise ValueError(
            f"unknown table format {fmt!r}; expected one of {', '.join(TABLE_FORMATS)}"
        )
    return _RENDERERS[fmt](rows)


def render_paragraphs(paragraphs: Sequence[Paragraph]) -> str:
    return "\n".join(
        f'<paragraph order="{p.order}">{escape(p.text)}</paragraph>'
        for p in sorted(paragraphs, key=lambda p: p.order)
    )


def render_context(
    rows: Sequence[Sequence[str]], paragraphs: Sequence[Paragraph], fmt: str = DEFAULT_TABLE_FORMAT
) -> str:
    """The table and paragraphs as two tagged blocks, the same for every consumer.

    Cached: the questions of one context share it, and an export or judge pass walks the
    questions context by context. The same objects as the last call (work items of one context
    share their table and paragraphs) are answered without even hashing the table again.
    """
    global _LAST_CONTEXT
    last = _LAST_CONTEXT  # read once: another thread may replace it meanwhile
    if last is not None and last[0] is rows and last[1] is paragraphs and last[2] == fmt:
        return last[3]
    text = _render_context(tuple(tuple(r) for r in rows), tuple(paragraphs), fmt)
    _LAST_CONTEXT = (rows, paragraphs, fmt, text)
    return text


#: (rows, paragraphs, format, text) of the last `render_context` call.
_LAST_CONTEXT: tuple[Sequence[Sequence[str]], Sequence[Paragraph], str, str] | None = None


@functools.lru_cache(maxsize=1024)
def _render_context(
    rows: tuple[tuple[str, ...], ...], paragraphs: tuple[Paragraph, ...], fmt: str
) -> str:
    return (
        f"<table>\n{render_table(rows, fmt)}\n</table>\n"
        f"<paragraphs>\n{render_paragraphs(paragraphs)}\n</paragraphs>"
    )


# -- answers --------------------------------------------------------------------------------


def render_answer(answer: AnswerValue, scale: str) -> str:
    """The gold answer as one line for people and judges: spans joined with "; ", numbers as in
    the data, scale appended. (The export's assistant turn uses `render_target` instead, which
    a parser can read back exactly.)"""
    if isinstance(answer, list):
        text = SPAN_SEPARATOR.join(answer)
    elif isinstance(answer, int | float):
        text = render_number(answer)
    else:
        text = answer
    if scale == "percent":
        return text if text.endswith("%") else f"{text}%"
    if scale in _SCALE_WORDS:
        return f"{text} {_SCALE_WORDS[scale]}"
    return text


# -- the judge prompt -----------------------------------------------------------------------

JUDGE_SYSTEM: Final = (
    "You are a reliable and impartial expert judge in question/answering data assessment."
)

JUDGE_USER: Final = """Here is a financial context: a table and paragraphs from a company report.
<context>
{context}
</context>

Here is a question about the context and a proposed answer.
<question>{question}</question>
<answer>{answer}</answer>

Assess whether the proposed answer is correct for the question, using only the context. Check the \
numbers, the table row and column, the period, any calculation and the scale. Explain your \
step-by-step reasoning in at most 4 sentences inside <reason></reason> tags, then give a single \
word, correct or incorrect, inside <judgement></judgement> tags."""

#: Bumped by hand when the built-in template changes meaning; part of the stored prompt hash.
JUDGE_TEMPLATE_VERSION: Final = "judge-v1"


@dataclass(frozen=True, slots=True)
class JudgeTemplate:
    """A judge prompt: the system text and a user template with {context} {question} {answer}."""

    system: str
    user: str
    name: str = JUDGE_TEMPLATE_VERSION
    #: Worked examples (few-shot): (user turn, assistant reply) pairs sent before the record.
    examples: tuple[tuple[str, str], ...] = ()

    @property
    def hash(self) -> str:
        """Identifies this exact prompt; stored with every verdict (same hash = same prompt)."""
        shots = "".join(f"\x1d{u}\x1f{a}" for u, a in self.examples)
        digest = hashlib.sha256(f"{self.system}\x1e{self.user}{shots}".encode()).hexdigest()
        return f"{self.name}:{digest[:16]}"

    def split_user(self) -> tuple[str, str]:
        """The user template cut before the line holding the first per-record placeholder.

        Everything before it (instructions and {context}) is the same for all questions of a
        context, so it can be a cached prompt block; the rest changes per record.
        """
        first = min(self.user.find(p) for p in ("{question}", "{answer}"))
        cut = self.user.rfind("\n", 0, first) + 1
        return self.user[:cut], self.user[cut:]


DEFAULT_JUDGE_TEMPLATE: Final = JudgeTemplate(JUDGE_SYSTEM, JUDGE_USER)

_PLACEHOLDERS = ("{context}", "{question}", "{answer}")


def _examples(path: Path, text: str, start_line: int) -> tuple[tuple[str, str], ...]:
    """Worked examples after the user template: `=== example`, the user turn, `=== reply`,
    the assistant's reply (which must end in a <judgement> like a real answer)."""
    out: list[tuple[str, str]] = []
    blocks = re.split(r"^=== example[ \t]*$", text, flags=re.M)[1:]
    line = start_line
    for block in blocks:
        parts = re.split(r"^=== reply[ \t]*$", block, maxsplit=1, flags=re.M)
        user, reply = (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")
        if not user.strip() or not reply.strip():
            raise BadInput(
                str(path),
                f"line {line}",
                "an example needs its user turn, a line '=== reply', then the reply",
            )
        from curator.judges.reply import parse_judgement

        if parse_judgement(reply, "end_turn").verdict not in ("correct", "incorrect"):
            raise BadInput(
                str(path),
                f"line {line + user.count(chr(10)) + 1}",
                "the example's reply must end with <judgement>correct</judgement> or "
                "<judgement>incorrect</judgement>",
            )
        out.append((user.strip("\n"), reply.strip("\n")))
        line += block.count("\n") + 1
    return tuple(out)


def load_judge_template(path: Path) -> JudgeTemplate:
    """Read a template file: the system text, a line `---`, then the user template, then
    optionally worked examples, each `=== example` + user turn + `=== reply` + reply."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(str(path), "", f"cannot read prompt file: {exc}") from exc
    system, sep, user = text.partition("\n---\n")
    shots: tuple[tuple[str, str], ...] = ()
    if sep and re.search(r"^=== example[ \t]*$", user, flags=re.M):
        where = re.search(r"^=== example[ \t]*$", user, flags=re.M)
        assert where is not None
        first_line = text[: len(system) + len(sep) + where.start()].count("\n") + 1
        shots = _examples(path, user[where.start() :], first_line)
        user = user[: where.start()]
    if not sep:
        raise BadInput(str(path), "", "expected the system text, a line '---', then the user turn")
    for placeholder in _PLACEHOLDERS:
        if user.count(placeholder) != 1:
            line = text[: text.find(sep)].count("\n") + 2
            raise BadInput(
                str(path), f"line {line}", f"the user turn must contain {placeholder} exactly once"
            )
    return JudgeTemplate(system.strip(), user.strip("\n"), name=f"file:{path.name}", examples=shots)


@dataclass(frozen=True, slots=True)
class JudgePrompt:
    """What is sent to a judge model: system text and the user turn in two cacheable parts."""

    system: str
    context_part: str
    record_part: str
    #: Worked examples sent first: (user turn, assistant reply) pairs.
    examples: tuple[tuple[str, str], ...] = ()

    @property
    def user(self) -> str:
        return self.context_part + self.record_part


def judge_prompt(
    *,
    table: Sequence[Sequence[str]],
    paragraphs: Sequence[Paragraph],
    question: str,
    answer: AnswerValue,
    scale: str,
    template: JudgeTemplate = DEFAULT_JUDGE_TEMPLATE,
    table_format: str = DEFAULT_TABLE_FORMAT,
) -> JudgePrompt:
    values = {
        "{context}": render_context(table, paragraphs, table_format),
        "{question}": escape(question),
        "{answer}": escape(render_answer(answer, scale)),
    }
    head, tail = _user_parts(template.user)

    def fill(parts: tuple[str, ...]) -> str:
        # Literal text and placeholders alternate: text inserted for one placeholder is never
        # scanned for another (what one `re.sub` pass over the template did, per record).
        return "".join([values[part] if i % 2 else part for i, part in enumerate(parts)])

    return JudgePrompt(template.system, fill(head), fill(tail), template.examples)


_PLACEHOLDER_RE: Final = re.compile(r"(\{context\}|\{question\}|\{answer\})")


@functools.lru_cache(maxsize=64)
def _user_parts(user: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A user template's two parts (`JudgeTemplate.split_user`), each cut once into literal
    text and placeholders, alternating: a batch pass fills the same template a million times."""
    head, tail = JudgeTemplate("", user).split_user()
    return tuple(_PLACEHOLDER_RE.split(head)), tuple(_PLACEHOLDER_RE.split(tail))


# -- training examples (export) and prediction prompts (eval) -------------------------------

DEFAULT_SYSTEM_PROMPT: Final = (
    "You are a financial analyst. You answer questions about a company's financial report "
    "using only the table and paragraphs you are given. Find the figures the question needs, "
    "calculate when it asks for a change, a ratio, an average or a count, and reply with the "
    "answer alone: concise, numbers as they appear in the report, several items on separate "
    "lines, and the scale (thousand, million, billion) or a % sign where it applies."
)


@dataclass(frozen=True, slots=True)
class TrainingExample:
    """One record as a conversation: the same blocks for export, prediction and evaluation."""

    system: str
    user: str
    assistant: str


def task_prompt(
    *,
    table: Sequence[Sequence[str]],
    paragraphs: Sequence[Paragraph],
    question: str,
    table_format: str = DEFAULT_TABLE_FORMAT,
    context: str | None = None,
) -> str:
    """The user turn: tagged table, paragraphs and question (what a model is asked at run time).

    `context` is `render_context(table, paragraphs, table_format)` when the caller has it.
    """
    if context is None:
        context = render_context(table, paragraphs, table_format)
    return f"{context}\n<question>{escape(question)}</question>"


def prediction_prompt(
    *,
    table: Sequence[Sequence[str]],
    paragraphs: Sequence[Paragraph],
    question: str,
    system: str = DEFAULT_SYSTEM_PROMPT,
    table_format: str = DEFAULT_TABLE_FORMAT,
) -> JudgePrompt:
    """What a model is asked at evaluation time: the export's system prompt and user turn,
    split after the context so that part can be cached across a context's questions."""
    context = render_context(table, paragraphs, table_format)
    user = task_prompt(
        table=table,
        paragraphs=paragraphs,
        question=question,
        table_format=table_format,
        context=context,
    )
    return JudgePrompt(system, user[: len(context) + 1], user[len(context) + 1 :])


def training_example(
    *,
    table: Sequence[Sequence[str]],
    paragraphs: Sequence[Paragraph],
    question: str,
    answer: AnswerValue,
    scale: str,
    derivation: str = "",
    system: str = DEFAULT_SYSTEM_PROMPT,
    table_format: str = DEFAULT_TABLE_FORMAT,
    rationale: bool = False,
    context: str | None = None,
) -> TrainingExample:
    """System, user and assistant turns for one record. With `rationale`, the assistant gives
    the derivation in <rationale> before the answer in <answer>."""
    user = task_prompt(
        table=table,
        paragraphs=paragraphs,
        question=question,
        table_format=table_format,
        context=context,
    )
    answer_text = render_target(answer, scale)
    if rationale:
        reasoning = derivation.strip() or "The answer is stated in the report."
        assistant = (
            f"<rationale>{escape(reasoning)}</rationale>\n<answer>{escape(answer_text)}</answer>"
        )
    else:
        assistant = answer_text
    return TrainingExample(system, user, assistant)


def load_system_prompt(path: Path | None) -> str:
    """The system prompt of an export or a prediction run: the file's text, else the default.

    An unreadable or empty file is bad input (exit 2), named, before anything is written.
    """
    if path is None:
        return DEFAULT_SYSTEM_PROMPT
    try:
        system = path.read_text("utf-8").strip()
    except OSError as exc:
        raise BadInput(str(path), "", f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BadInput(
            str(path), "", f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at {exc.start:,})"
        ) from exc
    if not system:
        raise BadInput(str(path), "", "the system prompt is empty")
    return system
