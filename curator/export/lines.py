"""The export's JSONL lines from per-context templates: the same bytes as `Target.line`, written
once per context instead of once per record.

A context's questions share everything in their line but the question part of the user turn
and the assistant turn: the system prompt, the rendered table and paragraphs (about 2.5 kB of
the ~2.8 kB line) and the target's JSON frame. So, once per context, the target's own `line` is
called on an example whose user turn is the context followed by a stand-in and whose assistant
turn is another stand-in; the result is cut at the two stand-ins and encoded to UTF-8. Each
record's line is then that template with the record's two parts JSON-encoded into it (JSON
escapes character by character, so the parts' encodings join into the whole string's) and only
those short parts are encoded to UTF-8: the context's 2.5 kB are neither copied into a new
string nor encoded again per record.

Every record's turns still come from the one prompt builder (`training_example`); only the
serialisation is shared. A context whose template would not cut cleanly (a stand-in not
exactly once, or the two out of order) and a user turn that does not start with its context
take the plain path (`Target.line`). The target's per-line checks are made the same way: what
depends only on the context once, the rest per record; a record that fails the quick test gets
the full `Target.check_example`, so its error message is the one the plain path gives.
"""

from __future__ import annotations

import uuid
from json.encoder import encode_basestring

from curator.domain import CuratorError
from curator.export.targets import FORBIDDEN_MARKERS, Target, estimate_tokens, tokens_for_length
from curator.prompts import TrainingExample, render_context, training_example
from curator.stand_ins import cut_at
from curator.store.exports import CuratedRecord

#: Enough characters of a context's end to hold all but the last character of any marker, so a
#: marker that starts in the context and ends in the question part is still seen.
_MARKER_OVERLAP = max(len(m) for m in FORBIDDEN_MARKERS) - 1


class _Template:
    """One context's line, cut at the record's two parts, and what its checks need."""

    __slots__ = ("blank", "chars", "clean", "context", "edge", "head", "middle", "tail", "tokens")

    def __init__(self, context: str, parts: tuple[str, str, str] | None, system: str) -> None:
        self.context = context
        head, middle, tail = parts or ("", "", "")
        self.head, self.middle, self.tail = head.encode(), middle.encode(), f"{tail}\n".encode()
        #: Characters of the line outside the record's parts (for its token estimate).
        self.chars = len(head) + len(middle) + len(tail)
        #: No marker in the system prompt or the context.
        self.clean = not any(m in t for m in FORBIDDEN_MARKERS for t in (system, context))
        self.blank = not context.strip()
        #: The system prompt's estimated tokens.
        self.tokens = estimate_tokens(system)
        #: The context's last characters, where a marker could begin.
        self.edge = context[-_MARKER_OVERLAP:] if _MARKER_OVERLAP else ""


class RecordRefused(CuratorError):
    """A curated record the target cannot take (too long, a turn marker Bedrock refuses): a
    request the data cannot meet, exit 2 as the README's table says, nothing exported; the
    record is named, so the curator can reject or edit it."""

    exit_code = 2


class LineWriter:
    """Build each record's checked line as UTF-8 bytes, with its token estimates.

    `__call__` gives (line bytes ending in a newline, estimated tokens of the line, estimated
    tokens of the assistant turn), exactly what `Target.line` and `estimate_tokens` give for the
    record's `training_example`; a line the target's checks refuse raises the plain path's error.
    """

    def __init__(self, target: Target, *, system: str, table_format: str, rationale: bool) -> None:
        self._target = target
        self._system = system
        self._table_format = table_format
        self._rationale = rationale
        self._limit = target.limits.max_tokens_per_record
        # Random, so no record can carry them; a template is used only if each occurs once.
        nonce = uuid.uuid4().hex
        self._user_mark, self._answer_mark = f"U{nonce}", f"A{nonce}"
        self._template: _Template | None = None
        self._table: object = None
        self._paragraphs: object = None

    def _cut(self, context: str) -> tuple[str, str, str] | None:
        text = self._target.line(
            TrainingExample(self._system, context + self._user_mark, self._answer_mark)
        )
        return cut_at(text, (self._user_mark, self._answer_mark))

    def _template_for(self, record: CuratedRecord) -> _Template:
        table, paragraphs = record.context.table, record.context.paragraphs
        template = self._template
        if template is not None and table is self._table and paragraphs is self._paragraphs:
            return template
        context = render_context(table, paragraphs, self._table_format)
        if template is None or template.context != context:
            template = self._template = _Template(context, self._cut(context), self._system)
        self._table, self._paragraphs = table, paragraphs
        return template

    def __call__(self, record: CuratedRecord) -> tuple[bytes, int, int]:
        template = self._template_for(record)
        context = template.context
        example = training_example(
            table=record.context.table,
            paragraphs=record.context.paragraphs,
            question=record.question,
            answer=record.answer,
            scale=record.scale,
            derivation=record.derivation,
            system=self._system,
            table_format=self._table_format,
            rationale=self._rationale,
            context=context,
        )
        user, assistant = example.user, example.assistant
        if not (template.head and user.startswith(context)):
            return self._plain(record, example)
        own = user[len(context) :]
        if not (
            template.clean
            and (not template.blank or own.strip())
            and assistant.strip()
            and not any(m in t for m in FORBIDDEN_MARKERS for t in (template.edge + own, assistant))
            and template.tokens + estimate_tokens(user) + estimate_tokens(assistant) <= self._limit
        ):
            # The quick test is not conclusive: the full check, and its exact messages.
            self._check(record, example)
        own_json = encode_basestring(own)[1:-1]
        answer_json = encode_basestring(assistant)[1:-1]
        line = b"".join(
            (
                template.head,
                own_json.encode(),
                template.middle,
                answer_json.encode(),
                template.tail,
            )
        )
        chars = template.chars + len(own_json) + len(answer_json)
        return line, tokens_for_length(chars), estimate_tokens(assistant)

    def _check(self, record: CuratedRecord, example: TrainingExample) -> None:
        problems = self._target.check_example(example)
        if problems:
            raise RecordRefused(f"record {record.uid!r} cannot be exported: {'; '.join(problems)}")

    def _plain(self, record: CuratedRecord, example: TrainingExample) -> tuple[bytes, int, int]:
        self._check(record, example)
        line = self._target.line(example)
        return f"{line}\n".encode(), estimate_tokens(line), estimate_tokens(example.assistant)
