"""The LLM judge sets thinking explicitly for models that think by default, and a prompt file
can carry worked examples (few-shot) that go through the one prompt builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.domain import BadInput, CuratorError, Paragraph
from curator.llm.backends import messages_body
from curator.models import thinking_config
from curator.prompts import (
    DEFAULT_JUDGE_TEMPLATE,
    JudgePrompt,
    JudgeTemplate,
    judge_prompt,
    load_judge_template,
)
from curator.settings import JudgeConfig

TABLE = [["", "2019"], ["Revenue", "1,200"]]
PARAS = [Paragraph("p1", 1, "Revenue grew.")]


def test_thinking_is_explicit_for_models_that_think_by_default() -> None:
    none = JudgeConfig()
    assert thinking_config("claude-sonnet-5-5", none) == {"type": "disabled"}
    assert thinking_config("us.anthropic.claude-opus-5-v1:0", none) == {"type": "disabled"}
    assert thinking_config("claude-haiku-4-5", none) is None
    on = JudgeConfig(thinking="on", thinking_budget=4096)
    assert thinking_config("claude-haiku-4-5", on) == {"type": "enabled", "budget_tokens": 4096}
    assert thinking_config("claude-sonnet-5-5", JudgeConfig(thinking="model-default")) is None
    listed = JudgeConfig(thinks_by_default=("claude-haiku",))
    assert thinking_config("claude-haiku-4-5", listed) == {"type": "disabled"}
    with pytest.raises(CuratorError, match="thinking"):
        thinking_config("claude-sonnet-5-5", JudgeConfig(thinking="maybe"))
    with pytest.raises(CuratorError, match="at least 1024"):
        thinking_config("x", JudgeConfig(thinking="on", thinking_budget=10))


def _prompt(template: JudgeTemplate = DEFAULT_JUDGE_TEMPLATE) -> JudgePrompt:
    return judge_prompt(
        table=TABLE,
        paragraphs=PARAS,
        question="Revenue in 2019?",
        answer=["1,200"],
        scale="",
        template=template,
    )


def test_request_body_carries_thinking_and_room_for_it() -> None:
    body = messages_body(_prompt(), 512, 1024, {"type": "disabled"})
    assert body["thinking"] == {"type": "disabled"} and body["max_tokens"] == 512
    body = messages_body(_prompt(), 512, 1024, {"type": "enabled", "budget_tokens": 2048})
    assert body["max_tokens"] == 512 + 2048
    assert "thinking" not in messages_body(_prompt(), 512, 1024)


def test_judge_key_differs_with_thinking() -> None:
    from curator.llm.passes import LLMJudge

    class Fake:
        provider = "anthropic"
        model = "m"

        def __init__(self, thinking: object) -> None:
            self.thinking = thinking

    plain = LLMJudge(Fake(None), price=None)  # type: ignore[arg-type]
    off = LLMJudge(Fake({"type": "disabled"}), price=None)  # type: ignore[arg-type]
    assert plain.key.prompt_hash != off.key.prompt_hash
    assert off.key.prompt_hash.endswith("+thinking:disabled:0")


FEW_SHOT = """Be strict.
---
<context>{context}</context>
Q: {question}
A: {answer}
=== example
<context>| | 2019 |
| Costs | 700 |</context>
Q: What were costs in 2019?
A: 7,000
=== reply
<reason>The cell holds 700, not 7,000.</reason>
<judgement>incorrect</judgement>
=== example
Q: What were costs in 2019? A: 700
=== reply
<reason>Matches the 2019 cell.</reason><judgement>correct</judgement>
"""


def test_prompt_file_with_worked_examples(tmp_path: Path) -> None:
    path = tmp_path / "shots.txt"
    path.write_text(FEW_SHOT, "utf-8")
    template = load_judge_template(path)
    assert len(template.examples) == 2
    assert template.examples[0][0].startswith("<context>| | 2019 |")
    assert template.examples[0][1].endswith("<judgement>incorrect</judgement>")
    assert "=== example" not in template.user and template.user.endswith("A: {answer}")
    plain = tmp_path / "plain.txt"
    plain.write_text(FEW_SHOT.split("=== example")[0], "utf-8")
    assert load_judge_template(plain).hash != template.hash
    prompt = _prompt(template)
    assert prompt.examples == template.examples
    body = messages_body(prompt, 256, 1024)
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    assert "Revenue in 2019?" in body["messages"][-1]["content"][-1]["text"]
    assert body["messages"][1]["content"][0]["text"] == template.examples[0][1]


def test_bad_example_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(FEW_SHOT.replace("<judgement>incorrect</judgement>", "wrong"), "utf-8")
    with pytest.raises(BadInput, match=r"line 12: the example.s reply must end with <judgement>"):
        load_judge_template(path)
    missing = tmp_path / "missing.txt"
    missing.write_text(FEW_SHOT.replace("=== reply\n<reason>The cell", "<reason>The cell"), "utf-8")
    with pytest.raises(BadInput, match="=== reply"):
        load_judge_template(missing)
