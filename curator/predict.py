"""`curator predict`: run a model over a split with the export's prompt, or import answers.

Model runs go through the judge pass runner (same concurrency, retries, resume and cost
accounting); only the prompt and what is stored differ. The prompt is the export's: the same
system prompt, XML blocks and table format, read from an export manifest with --from-manifest,
so a fine-tuned model is asked exactly what it was trained on.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curator.answer_format import render_target
from curator.domain import BadInput, BadOption, JudgeKey, RecordFilter, WorkItem
from curator.judges.reply import COMPLETE_STOP_REASONS
from curator.llm.backends import Backend, estimate_tokens
from curator.llm.passes import RetryPolicy, call_model
from curator.llm.prices import Price
from curator.prompts import DEFAULT_SYSTEM_PROMPT, TABLE_FORMATS, JudgePrompt, prediction_prompt
from curator.settings import Config
from curator.split_choice import SplitChoice
from curator.store.db import Store
from curator.store.predictions import (
    TRUNCATED,
    NewPrediction,
    append_predictions,
    count_prediction_work,
    known_uids,
    last_error,
    prediction_page,
    replace_imported,
)
from curator.tatqa_metric import SCALES, PredictedAnswer
from curator.wording import counted

if TYPE_CHECKING:
    from curator.judges.factory import JudgeChoice
    from curator.llm.passes import PassProgress


def answer_of(output: str) -> str:
    """The answer in a model's reply: inside <answer> when the model used the rationale form."""
    from curator.answer_format import answer_text

    return answer_text(output)


def prompt_settings(manifest: Path | None) -> tuple[str, str]:
    """(system prompt, table format): the export manifest's, else the defaults."""
    if manifest is None:
        return DEFAULT_SYSTEM_PROMPT, "markdown"
    try:
        data = json.loads(manifest.read_text("utf-8"))
        options = data["options"]
        if not isinstance(options, dict):  # `.get` on a number was an internal error (exit 1)
            raise TypeError("'options' is not an object")
        system, table_format = options.get("system_prompt_text"), options["table_format"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise BadInput(str(manifest), "", f"not an export manifest ({exc})") from exc
    # Checked here, before the run is registered: every call of the pass failed on it.
    if table_format not in TABLE_FORMATS:
        raise BadInput(
            str(manifest),
            "options.table_format",
            f"{table_format!r} is not one of {', '.join(TABLE_FORMATS)}",
        )
    if system is not None and not isinstance(system, str):
        raise BadInput(str(manifest), "options.system_prompt_text", "not a text")
    return system or DEFAULT_SYSTEM_PROMPT, str(table_format)


class Predictor:
    """Asks a model each record's question; the answer text is what gets scored."""

    def __init__(
        self,
        backend: Backend,
        *,
        price: Price | None,
        system: str,
        table_format: str,
        max_tokens: int = 512,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        self.backend = backend
        self.price = price
        self.system = system
        self.table_format = table_format
        self.max_tokens = max_tokens
        self.retry = retry
        digest = hashlib.sha256(f"{system}\x1e{table_format}".encode()).hexdigest()[:16]
        self.key = JudgeKey(f"predict:{backend.provider}", backend.model, f"task:{digest}")

    def prompt(self, item: WorkItem) -> JudgePrompt:
        return prediction_prompt(
            table=item.context.table,
            paragraphs=item.context.paragraphs,
            question=item.question,
            system=self.system,
            table_format=self.table_format,
        )

    def estimate(self, item: WorkItem) -> tuple[int, int, float]:
        prompt = self.prompt(item)
        tokens = estimate_tokens(prompt.system + prompt.user)
        cost = self.price.cost(tokens, 40, 0, 0) if self.price else 0.0
        return tokens, 40, cost

    async def run(self, item: WorkItem) -> NewPrediction:
        call = await call_model(
            self.backend, self.prompt(item), self.max_tokens, self.retry, self.price
        )
        completion = call.completion
        if completion is None:
            return NewPrediction(
                item.uid,
                item.record_hash,
                "",
                error=call.error,
                attempts=call.attempts,
                latency_ms=call.latency_ms,
            )
        return NewPrediction(
            record_uid=item.uid,
            record_hash=item.record_hash,
            answer_text=answer_of(completion.text),
            raw_output=completion.text,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=call.cost_usd,
            latency_ms=call.latency_ms,
            attempts=call.attempts,
            error=self.unfinished(completion.stop_reason),
        )

    def unfinished(self, stop_reason: str | None) -> str:
        """Why an answer the model did not finish is not an answer ('' when it finished).

        A reply cut by max_tokens may end mid-number ("1,2" of "1,234"): scoring it would count
        a guess the model never made. Stored with this error it keeps its text, tokens and cost,
        scores as no answer, and the next run asks again (with a higher --max-tokens, say).
        The same holds for a refused or filtered reply."""
        if stop_reason in COMPLETE_STOP_REASONS:
            return ""
        if stop_reason == "max_tokens":
            return f"{TRUNCATED} ({self.max_tokens:,} tokens)"
        return f"reply did not end normally (stop reason {stop_reason or 'missing'})"

    async def aclose(self) -> None:
        await self.backend.aclose()


class PredictionSource:
    """Records of the chosen splits without an answer in this run; results are predictions."""

    def __init__(self, store: Store, run: str, filt: RecordFilter) -> None:
        self.store, self.run, self.filt = store, run, filt

    def count(self, upto_seq: int | None = None) -> int:
        return count_prediction_work(self.store, self.run, self.filt, upto_seq=upto_seq)

    def page(self, after_seq: int, limit: int, upto_seq: int | None = None) -> list[WorkItem]:
        return prediction_page(
            self.store, self.run, self.filt, after_seq=after_seq, limit=limit, upto_seq=upto_seq
        )

    def append(self, results: list[Any]) -> None:
        append_predictions(self.store, self.run, results)

    def spill_header(self) -> dict[str, Any]:
        """What `recover_unsaved` needs to store spilled predictions later."""
        return {"kind": "predictions", "run": self.run}


@dataclass(frozen=True, slots=True)
class ImportedAnswer:
    """One answer of an imported file: text to parse, or a structured (answer, scale)."""

    text: str | None = None
    answer: PredictedAnswer | None = None
    scale: str = ""

    @property
    def structured(self) -> bool:
        return self.text is None

    def stored(self, uid: str) -> NewPrediction:
        if self.text is not None:
            return NewPrediction(
                uid, "", self.text, raw_output=self.text, output_tokens=estimate_tokens(self.text)
            )
        shown = "" if self.answer in (None, []) else render_target(self.answer, self.scale)
        return NewPrediction(
            uid,
            "",
            shown,
            raw_output=json.dumps([self.answer, self.scale], ensure_ascii=False),
            output_tokens=estimate_tokens(shown),
            answer_json=json.dumps({"answer": self.answer, "scale": self.scale}),
        )


_FORMATS = (
    'expected the official TAT-QA {uid: [answer, scale]}, {uid: "text"}, or JSON Lines of '
    '{"uid", "answer", "scale"}'
)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _structured(source: str, where: str, answer: Any, scale: Any) -> ImportedAnswer:
    """An answer as the official format holds it: spans, a number or a string, and a scale."""
    if not isinstance(scale, str) or scale not in SCALES:
        raise BadInput(
            source,
            where,
            f"scale {scale!r} is not one of " + ", ".join(repr(s) for s in SCALES),
        )
    for value in answer if isinstance(answer, list) else [answer]:
        # Python's json reads NaN and Infinity (and 1e999 as inf); none is an answer, and
        # they would reach --per-question's JSON, which has no such values.
        if isinstance(value, float) and not math.isfinite(value):
            raise BadInput(source, where, f"answer {value!r} is not a finite number")
    if isinstance(answer, list):
        if not (all(isinstance(a, str) for a in answer) or all(_is_number(a) for a in answer)):
            raise BadInput(source, where, "a list answer must hold only strings or only numbers")
    elif answer is not None and not isinstance(answer, str) and not _is_number(answer):
        raise BadInput(
            source, where, "an answer must be a string, a number, a list of spans or null"
        )
    return ImportedAnswer(answer=answer, scale=scale)


def _from_object(source: str, data: dict[str, Any]) -> dict[str, ImportedAnswer]:
    """`{uid: [answer, scale]}` (official) or `{uid: text}`; the first value sets which."""
    out: dict[str, ImportedAnswer] = {}
    official = bool(data) and isinstance(next(iter(data.values())), list)
    for uid, value in data.items():
        where = f"uid {uid!r}"
        if official:
            if not isinstance(value, list) or len(value) != 2:
                raise BadInput(source, where, "expected [answer, scale] like the other answers")
            out[str(uid)] = _structured(source, where, value[0], value[1])
        elif isinstance(value, str):
            out[str(uid)] = ImportedAnswer(text=value)
        else:
            raise BadInput(source, where, "expected a text answer like the other answers")
    return out


def _from_row(source: str, where: str, row: Any) -> tuple[str, ImportedAnswer]:
    if not isinstance(row, dict) or not isinstance(row.get("uid"), str) or "answer" not in row:
        raise BadInput(source, where, 'expected {"uid": str, "answer": ..., "scale": str}')
    answer = row["answer"]
    if "scale" in row:
        return row["uid"], _structured(source, where, answer, row["scale"])
    if isinstance(answer, str):
        return row["uid"], ImportedAnswer(text=answer)
    return row["uid"], _structured(source, where, answer, "")


_TOO_DEEP = "JSON nested too deeply to be an answer file"


def read_predictions(path: Path) -> dict[str, ImportedAnswer]:
    """Answers of a file, by uid, in one of three forms (see `_FORMATS`).

    The official form and JSON Lines rows with "scale" are kept as given and scored exactly as
    the official script scores them; text answers are parsed by curator.answer_format when
    scored, like a model's. A JSON Lines row without "scale" whose answer is not text is taken
    with scale "".
    """
    source = str(path)
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(source, f"byte {exc.start}", "not UTF-8 text") from exc
    except OSError as exc:
        raise BadInput(source, "", f"cannot read: {exc.strerror or exc}") from exc
    # A byte-order mark (Windows editors, PowerShell's Out-File) is not part of the JSON; the
    # data import reads such files, so answers written by the same tools must be read too.
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise BadInput(source, "", "file is empty")
    try:
        data = json.loads(text)
    except RecursionError as exc:  # the parser's depth, not ours: bad input, not a crash
        raise BadInput(source, "top level", _TOO_DEEP) from exc
    except json.JSONDecodeError as exc:
        first = next(line for line in text.splitlines() if line.strip())
        try:
            json.loads(first)
        except json.JSONDecodeError:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise BadInput(source, where, f"invalid JSON: {exc.msg}") from exc
        data = None  # several JSON values: JSON Lines, read below line by line
    if isinstance(data, dict):
        if "uid" in data and "answer" in data and isinstance(data["uid"], str):
            uid, answer = _from_row(source, "line 1", data)
            return {uid: answer}
        return _from_object(source, data)
    if data is not None:
        raise BadInput(source, "top level", _FORMATS)
    out: dict[str, ImportedAnswer] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except RecursionError as exc:
            raise BadInput(source, f"line {number}", _TOO_DEEP) from exc
        except json.JSONDecodeError as exc:
            raise BadInput(source, f"line {number}", f"invalid JSON: {exc.msg}") from exc
        uid, answer = _from_row(source, f"line {number}", row)
        if uid in out:
            raise BadInput(source, f"line {number}", f"uid {uid!r} appears twice")
        out[uid] = answer
    return out


def import_predictions(store: Store, path: Path, run: str) -> int:
    """Store a file of answers as run `run` (replacing an earlier import of that name)."""
    answers = read_predictions(path)
    if not answers:
        raise BadInput(str(path), "", "holds no answers")
    known = known_uids(store, list(answers))
    unknown = [uid for uid in answers if uid not in known]
    if unknown:
        raise BadInput(
            str(path),
            f"uid {unknown[0]!r}",
            f"not in the store ({len(unknown)} unknown uid{'s' if len(unknown) > 1 else ''})",
        )
    stored = [answer.stored(uid) for uid, answer in answers.items()]
    replace_imported(store, run, stored, options={"file": str(path)})
    return len(answers)


def check_run_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]{0,63}", name):
        raise BadOption(f"run name {name!r}: use letters, digits, '.', '-' or '_'")
    return name


@dataclass(frozen=True, slots=True)
class PredictionPlan:
    """A prediction run, resolved and registered in the store, ready to run (or to resume)."""

    store: Store
    run: str
    model: str
    predictor: Predictor
    filt: RecordFilter
    limit: int | None
    concurrency: int


@dataclass(frozen=True, slots=True)
class PredictionSummary:
    run: str
    model: str
    answered: int
    errors: int
    cost_usd: float
    output_tokens: int
    #: Answers cut off by max_tokens: stored, not scored, asked again by the next run.
    truncated: int = 0
    #: Records the run lacked when it started (0: nothing to do).
    pending: int = 0
    #: The message of one failed call of this pass ('' when none failed): why calls failed.
    last_error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "model": self.model,
            "answered": self.answered,
            "truncated": self.truncated,
            "errors": self.errors,
            "cost_usd": round(self.cost_usd, 6),
            "output_tokens": self.output_tokens,
        }


def plan_predictions(
    store: Store,
    choice: JudgeChoice,
    config: Config,
    *,
    run: str | None,
    splits: SplitChoice | None = None,
    limit: int | None = None,
    manifest: Path | None = None,
    max_tokens: int = 512,
) -> PredictionPlan:
    """Resolve the model, the prompt (the export manifest's, else the default) and the run name
    (default: from the model id), build the backend and register the run. `splits` are the
    records to answer (`curator.split_choice.choose_splits`; default: every record)."""
    from curator.judges.factory import make_backend, resolved_model
    from curator.llm.prices import price_for
    from curator.store.predictions import ensure_run

    splits = splits or SplitChoice()
    model_id = resolved_model(choice, config)
    system, table_format = prompt_settings(manifest)
    name = check_run_name(run or re.sub(r"[^\w.-]+", "-", model_id)[-60:].strip("-") or "run")
    predictor = Predictor(
        make_backend(choice, model_id, config),
        price=price_for(model_id, config.prices),
        system=system,
        table_format=table_format,
        max_tokens=max_tokens,
    )
    ensure_run(
        store,
        name,
        source="model",
        backend=choice.name,
        model=model_id,
        prompt_hash=predictor.key.prompt_hash,
        options={
            "table_format": table_format,
            "manifest": str(manifest) if manifest else None,
            **splits.run_options(),
        },
    )
    return PredictionPlan(
        store,
        name,
        model_id,
        predictor,
        splits.record_filter(),
        limit,
        choice.concurrency,
    )


def run_predictions(
    plan: PredictionPlan, on_progress: Callable[[PassProgress], None] | None = None
) -> PredictionSummary:
    """Answer every record of the plan's splits the run lacks; a run in which every call failed
    is an environment failure (exit 3; the next run retries those records)."""
    import asyncio

    from curator.llm.passes import PassOptions, run_pass
    from curator.llm.run_lock import run_lock

    # Two processes running the same run at once would both ask for every missing answer.
    with run_lock(plan.store.path, f"predict-{plan.run}", f"predict of run {plan.run!r}"):
        result = asyncio.run(
            run_pass(
                plan.store,
                plan.predictor,
                PassOptions(filt=plan.filt, limit=plan.limit, concurrency=plan.concurrency),
                on_progress=on_progress,
                source=PredictionSource(plan.store, plan.run, plan.filt),
            )
        )
    p = result.progress
    errors = p.outcomes.get("error", 0)
    return PredictionSummary(
        run=plan.run,
        model=plan.model,
        answered=p.outcomes.get("answered", 0),
        errors=errors,
        cost_usd=p.cost_usd,
        output_tokens=p.output_tokens,
        truncated=p.outcomes.get("truncated", 0),
        pending=p.total,
        last_error=last_error(plan.store, plan.run) if errors else "",
    )


def check_all_failed(summary: PredictionSummary) -> None:
    """A run in which no call gave an answer (every call failed, or every answer was cut off)
    is a failure (exit 3), not a success with errors."""
    from curator.domain import EnvironmentFailure

    if summary.answered or not (summary.errors or summary.truncated):
        return
    if not summary.truncated:
        raise EnvironmentFailure(
            f"every call failed ({counted(summary.errors, 'record')}; the next run retries "
            f"{'it' if summary.errors == 1 else 'them'}); "
            f"last error: {summary.last_error}"
        )
    raise EnvironmentFailure(
        f"no answer was finished: {summary.truncated:,} cut off by max_tokens, "
        f"{summary.errors:,} failed calls; the next run asks again (try a higher --max-tokens)"
    )
