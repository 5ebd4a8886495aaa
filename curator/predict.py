"""`curator predict`: run a model over a split with the export's prompt, or import answers.

Model runs go through the judge pass runner (same concurrency, retries, resume and cost
accounting); only the prompt and what is stored differ. The prompt is the export's: the same
system prompt, XML blocks and table format, read from an export manifest with --from-manifest,
so a fine-tuned model is asked exactly what it was trained on.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from curator.domain import BadInput, CuratorError, RecordFilter
from curator.judges.llm import Backend, estimate_tokens
from curator.judges.runner import RetryPolicy, call_model
from curator.models import Price
from curator.prompts import DEFAULT_SYSTEM_PROMPT, JudgePrompt, prediction_prompt
from curator.store.db import Store
from curator.store.predictions import (
    NewPrediction,
    append_predictions,
    count_prediction_work,
    known_uids,
    prediction_page,
    replace_imported,
)
from curator.store.verdicts import JudgeKey, WorkItem

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)


def answer_of(output: str) -> str:
    """The answer in a model's reply: inside <answer> when the model used the rationale form."""
    found = _ANSWER.findall(output)
    return found[-1].strip() if found else output.strip()


def prompt_settings(manifest: Path | None) -> tuple[str, str]:
    """(system prompt, table format): the export manifest's, else the defaults."""
    if manifest is None:
        return DEFAULT_SYSTEM_PROMPT, "markdown"
    try:
        data = json.loads(manifest.read_text("utf-8"))
        options = data["options"]
        return str(options.get("system_prompt_text") or DEFAULT_SYSTEM_PROMPT), str(
            options["table_format"]
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(str(manifest), "", f"not an export manifest ({exc})") from exc


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
            table=item.table,
            paragraphs=item.paragraphs,
            question=item.question,
            system=self.system,
            table_format=self.table_format,
        )

    def estimate(self, item: WorkItem) -> tuple[int, int, float]:
        prompt = self.prompt(item)
        tokens = estimate_tokens(prompt.system + prompt.user)
        cost = self.price.cost(tokens, 40, 0, 0) if self.price else 0.0
        return tokens, 40, cost

    async def judge(self, item: WorkItem) -> NewPrediction:
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
        )

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


def read_predictions(path: Path) -> dict[str, str]:
    """{uid: answer text} from JSON `{uid: answer}` or JSONL `{"uid", "answer"}` lines."""
    source = str(path)
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(source, f"byte {exc.start}", "not UTF-8 text") from exc
    except OSError as exc:
        raise BadInput(source, "", f"cannot read: {exc.strerror or exc}") from exc
    if not text.strip():
        raise BadInput(source, "", "file is empty")
    out: dict[str, str] = {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        first = next(line for line in text.splitlines() if line.strip())
        try:
            json.loads(first)
        except json.JSONDecodeError:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise BadInput(source, where, f"invalid JSON: {exc.msg}") from exc
        data = None  # several JSON values: JSON Lines, read below line by line
    if isinstance(data, dict):
        if set(data) == {"uid", "answer"} and isinstance(data["uid"], str):
            data = {data["uid"]: data["answer"]}
        for uid, answer in data.items():
            out[str(uid)] = _answer_text(source, f"uid {uid!r}", answer)
        return out
    if data is not None:
        raise BadInput(
            source, "top level", 'expected {uid: answer} or JSON Lines of {"uid", "answer"}'
        )
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(source, f"line {number}", f"invalid JSON: {exc.msg}") from exc
        if not isinstance(row, dict) or not isinstance(row.get("uid"), str) or "answer" not in row:
            raise BadInput(source, f"line {number}", 'expected {"uid": str, "answer": ...}')
        if row["uid"] in out:
            raise BadInput(source, f"line {number}", f"uid {row['uid']!r} appears twice")
        out[row["uid"]] = _answer_text(source, f"line {number}", row["answer"])
    return out


def _answer_text(source: str, where: str, answer: Any) -> str:
    if isinstance(answer, str):
        return answer
    if isinstance(answer, list) and all(isinstance(a, str) for a in answer):
        from curator.prompts import SPAN_SEPARATOR

        return SPAN_SEPARATOR.join(answer)
    if isinstance(answer, int | float) and not isinstance(answer, bool):
        from curator.prompts import render_number

        return render_number(answer)
    raise BadInput(source, where, "an answer must be a string, a list of strings or a number")


def import_predictions(store: Store, path: Path, run: str) -> int:
    """Store a file of answers as run `run` (replacing an earlier import of that name)."""
    from curator.store.predictions import ensure_run

    answers = read_predictions(path)
    known = known_uids(store, list(answers))
    unknown = [uid for uid in answers if uid not in known]
    if unknown:
        raise BadInput(
            str(path),
            f"uid {unknown[0]!r}",
            f"not in the store ({len(unknown)} unknown uid{'s' if len(unknown) > 1 else ''})",
        )
    ensure_run(store, run, source="import", options={"file": str(path)})
    replace_imported(
        store,
        run,
        [
            NewPrediction(uid, "", text, raw_output=text, output_tokens=estimate_tokens(text))
            for uid, text in answers.items()
        ],
    )
    return len(answers)


def check_run_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]{0,63}", name):
        raise CuratorError(f"run name {name!r}: use letters, digits, '.', '-' or '_'")
    return name
