"""Fine-tuning file formats: build one JSONL line per record, and check any line against the
target's rules (the rules of AWS's Bedrock data validators), with the line number on failure.

The checks work on parsed JSON only, so `curator validate` can check a file written by anyone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any, Final

from curator.llm.backends import CHARS_PER_TOKEN
from curator.prompts import TrainingExample

FORBIDDEN_MARKERS: Final = ("\nHuman:", "\nAssistant:")


@dataclass(frozen=True, slots=True)
class Limits:
    max_train: int
    max_validation: int
    max_total: int
    min_train: int
    max_tokens_per_record: int
    max_train_bytes: int
    max_validation_bytes: int
    min_validation: int = 0  # a validation file, when there is one, has at least this many


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def tokens_for_length(chars: int) -> int:
    """`estimate_tokens` of a text of `chars` characters (for a line known only by its parts)."""
    return int(chars / CHARS_PER_TOKEN) + 1


class Target:
    name: str = ""
    # Claude 3 Haiku (AWS's validator): 32-10,000 training, 32-1,000 validation, 10,000 in all.
    limits: Limits = Limits(10_000, 1_000, 10_000, 32, 32_000, 10 * 1024**3, 1024**3, 32)

    def build(self, example: TrainingExample) -> dict[str, Any]:
        raise NotImplementedError

    def line(self, example: TrainingExample, user_json: str | None = None) -> str:
        """`dumps(self.build(example))`, written without the dict: the same bytes, faster (the
        export writes one per record; `test_export_stream` holds the two to the same output).
        `user_json` is the user turn already encoded as a JSON string, when the caller has it."""
        return dumps(self.build(example))

    def problems(self, obj: Any) -> list[str]:
        raise NotImplementedError

    def texts(self, obj: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def check_example(self, example: TrainingExample) -> list[str]:
        """`check(build(example))`, with a fast path for the usual line: every target's checks
        of a line it built itself pass when the user and assistant turns are not blank, no turn
        holds a forbidden marker and the tokens fit; anything else gets the full check (and its
        exact messages)."""
        texts = (example.system, example.user, example.assistant)
        if (
            example.user.strip()
            and example.assistant.strip()
            and not any(marker in t for marker in FORBIDDEN_MARKERS for t in texts)
            and sum(estimate_tokens(t) for t in texts) <= self.limits.max_tokens_per_record
        ):
            return []
        return self.check(self.build(example))

    def plain_texts(self, obj: Any) -> tuple[str, ...] | None:
        """The line's texts when it has exactly the shape this target writes (`problems` finds
        nothing in such a line), else None: a quick test, never a verdict on other shapes."""
        return None

    def check_line(self, obj: Any, raw: bytes) -> list[str]:
        """`check(obj)` for `obj = json.loads(raw)`, faster on a line of the usual shape.

        Such a line's texts are read straight from it; the markers are looked for in the raw
        bytes: a line with no `\\u00` escape writes every ASCII character of its strings as
        itself (JSON's other escapes stand for none of the markers' characters), so a marker in
        a text puts "Human:" or "Assistant:" in the bytes (when `raw` starts with `{"`, which
        `json.loads` reads as UTF-8). Anything inconclusive, and every line with a problem, gets
        the full `check`, so the messages are its own."""
        texts = self.plain_texts(obj)
        if (
            texts is not None
            and raw[:2] == b'{"'
            and b"\\u00" not in raw
            and b"Human:" not in raw
            and b"Assistant:" not in raw
        ):
            tokens = 0
            for text in texts:
                tokens += int(len(text) / CHARS_PER_TOKEN) + 1
            if tokens <= self.limits.max_tokens_per_record:
                return []
        return self.check(obj)

    def check(self, obj: Any) -> list[str]:
        """Every problem with one parsed line (an empty list when it is valid)."""
        found = self.problems(obj)
        if found:
            return found
        texts = self.texts(obj)
        for marker in FORBIDDEN_MARKERS:
            if any(marker in t for t in texts):
                found.append(f"contains {marker.strip()!r} after a newline, which Bedrock refuses")
        tokens = sum(estimate_tokens(t) for t in texts)
        if tokens > self.limits.max_tokens_per_record:
            found.append(
                f"about {tokens:,} tokens; at most {self.limits.max_tokens_per_record:,} per record"
            )
        return found


def _roles_alternate(roles: list[str]) -> str | None:
    if len(roles) < 2:
        return "needs at least 2 messages"
    if roles[0] != "user":
        return "the first message must be from the user"
    if roles[-1] != "assistant":
        return "the last message must be from the assistant"
    for i, role in enumerate(roles):
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            return f"message {i + 1} has role {role!r}; roles must alternate user/assistant"
    return None


class BedrockClaude(Target):
    """`{"system": str, "messages": [{"role", "content": str}, ...]}` (Claude 3 Haiku format)."""

    name = "bedrock-claude"

    def build(self, example: TrainingExample) -> dict[str, Any]:
        return {
            "system": example.system,
            "messages": [
                {"role": "user", "content": example.user},
                {"role": "assistant", "content": example.assistant},
            ],
        }

    def line(self, example: TrainingExample, user_json: str | None = None) -> str:
        return (
            f'{{"system":{_encoded(example.system)},"messages":[{{"role":"user","content":'
            f'{user_json or encode_basestring(example.user)}}},{{"role":"assistant","content":'
            f"{encode_basestring(example.assistant)}}}]}}"
        )

    def problems(self, obj: Any) -> list[str]:
        if not isinstance(obj, dict):
            return ["a line must be a JSON object"]
        out = []
        extra = set(obj) - {"system", "messages"}
        if extra:
            out.append(f"unexpected keys {sorted(extra)}; only 'system' and 'messages' are allowed")
        if "system" in obj and not isinstance(obj["system"], str):
            out.append("'system' must be a string")
        messages = obj.get("messages")
        if not isinstance(messages, list):
            return [*out, "'messages' must be a list"]
        roles = []
        for i, m in enumerate(messages, start=1):
            if not isinstance(m, dict) or set(m) != {"role", "content"}:
                out.append(f"message {i} must be an object with exactly 'role' and 'content'")
                continue
            if m["role"] not in ("user", "assistant"):
                out.append(f"message {i} has role {m['role']!r}; only user and assistant")
            if not isinstance(m["content"], str) or not m["content"].strip():
                out.append(f"message {i} content must be a non-empty string")
            roles.append(str(m["role"]))
        if not out and (problem := _roles_alternate(roles)):
            out.append(problem)
        return out

    def texts(self, obj: dict[str, Any]) -> list[str]:
        return [obj.get("system", ""), *(m["content"] for m in obj["messages"])]

    def plain_texts(self, obj: Any) -> tuple[str, ...] | None:
        # {"system": str, "messages": [user, assistant]}, each {"role", "content": non-blank}.
        if type(obj) is not dict or len(obj) != 2:
            return None
        system, messages = obj.get("system"), obj.get("messages")
        if type(system) is not str or type(messages) is not list or len(messages) != 2:
            return None
        user, assistant = messages
        if (
            type(user) is dict
            and type(assistant) is dict
            and len(user) == 2
            and len(assistant) == 2
            and user.get("role") == "user"
            and assistant.get("role") == "assistant"
        ):
            asked, answered = user.get("content"), assistant.get("content")
            if type(asked) is str and type(answered) is str and asked.strip() and answered.strip():
                return system, asked, answered
        return None


class BedrockNova(Target):
    """The `bedrock-conversation-2024` schema: system and content as lists of text blocks."""

    name = "bedrock-nova"
    # Nova (AWS's validator): 8-20,000 training and 8-20,000 validation records.
    limits = Limits(20_000, 20_000, 20_000, 8, 32_000, 10 * 1024**3, 1024**3, 8)

    def build(self, example: TrainingExample) -> dict[str, Any]:
        return {
            "schemaVersion": "bedrock-conversation-2024",
            "system": [{"text": example.system}],
            "messages": [
                {"role": "user", "content": [{"text": example.user}]},
                {"role": "assistant", "content": [{"text": example.assistant}]},
            ],
        }

    def line(self, example: TrainingExample, user_json: str | None = None) -> str:
        return (
            '{"schemaVersion":"bedrock-conversation-2024","system":[{"text":'
            f'{_encoded(example.system)}}}],"messages":[{{"role":"user","content":[{{"text":'
            f"{user_json or encode_basestring(example.user)}}}]}},"
            '{"role":"assistant","content":[{"text":'
            f"{encode_basestring(example.assistant)}}}]}}]}}"
        )

    def problems(self, obj: Any) -> list[str]:
        if not isinstance(obj, dict):
            return ["a line must be a JSON object"]
        out = []
        if obj.get("schemaVersion") != "bedrock-conversation-2024":
            out.append("'schemaVersion' must be 'bedrock-conversation-2024'")
        system = obj.get("system", [])
        if not isinstance(system, list) or not all(
            isinstance(b, dict) and isinstance(b.get("text"), str) for b in system
        ):
            out.append("'system' must be a list of {\"text\": str} blocks")
        messages = obj.get("messages")
        if not isinstance(messages, list):
            return [*out, "'messages' must be a list"]
        roles = []
        for i, m in enumerate(messages, start=1):
            content = m.get("content") if isinstance(m, dict) else None
            if (
                not isinstance(content, list)
                or not content
                or not all(
                    isinstance(b, dict) and isinstance(b.get("text"), str) and b["text"].strip()
                    for b in content
                )
            ):
                out.append(f"message {i} content must be a list of non-empty text blocks")
            roles.append(str(m.get("role")) if isinstance(m, dict) else "?")
        if not out and (problem := _roles_alternate(roles)):
            out.append(problem)
        return out

    def texts(self, obj: dict[str, Any]) -> list[str]:
        return [b["text"] for b in obj.get("system", [])] + [
            b["text"] for m in obj["messages"] for b in m["content"]
        ]

    def plain_texts(self, obj: Any) -> tuple[str, ...] | None:
        # One system block, then a user and an assistant message of one non-blank block each.
        if type(obj) is not dict or obj.get("schemaVersion") != "bedrock-conversation-2024":
            return None
        system, messages = obj.get("system"), obj.get("messages")
        if type(system) is not list or len(system) != 1 or type(system[0]) is not dict:
            return None
        if type(messages) is not list or len(messages) != 2:
            return None
        texts: list[Any] = [system[0].get("text")]
        for message, role in zip(messages, ("user", "assistant"), strict=True):
            if type(message) is not dict or message.get("role") != role:
                return None
            content = message.get("content")
            if type(content) is not list or len(content) != 1 or type(content[0]) is not dict:
                return None
            text = content[0].get("text")
            if type(text) is not str or not text.strip():
                return None
            texts.append(text)
        return tuple(texts) if type(texts[0]) is str else None


class OpenAIChat(Target):
    """`{"messages": [system, user, assistant]}` chat fine-tuning format."""

    name = "openai-chat"
    limits = Limits(1_000_000, 1_000_000, 2_000_000, 10, 64_000, 10 * 1024**3, 1024**3)

    def build(self, example: TrainingExample) -> dict[str, Any]:
        return {
            "messages": [
                {"role": "system", "content": example.system},
                {"role": "user", "content": example.user},
                {"role": "assistant", "content": example.assistant},
            ]
        }

    def line(self, example: TrainingExample, user_json: str | None = None) -> str:
        return (
            f'{{"messages":[{{"role":"system","content":{_encoded(example.system)}}},'
            f'{{"role":"user","content":{user_json or encode_basestring(example.user)}}},'
            f'{{"role":"assistant","content":{encode_basestring(example.assistant)}}}]}}'
        )

    def problems(self, obj: Any) -> list[str]:
        if not isinstance(obj, dict) or set(obj) != {"messages"}:
            return ["a line must be an object with only 'messages'"]
        messages = obj["messages"]
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages
        ):
            return ["'messages' must be a list of {role, content: str}"]
        roles = [str(m.get("role")) for m in messages]
        if roles and roles[0] == "system":
            roles = roles[1:]
        problem = _roles_alternate(roles)
        return [problem] if problem else []

    def texts(self, obj: dict[str, Any]) -> list[str]:
        return [m["content"] for m in obj["messages"]]

    def plain_texts(self, obj: Any) -> tuple[str, ...] | None:
        # {"messages": [system, user, assistant]}, each {"role", "content": str}.
        if type(obj) is not dict or len(obj) != 1:
            return None
        messages = obj.get("messages")
        if type(messages) is not list or len(messages) != 3:
            return None
        system, user, assistant = messages
        if (
            type(system) is dict
            and type(user) is dict
            and type(assistant) is dict
            and system.get("role") == "system"
            and user.get("role") == "user"
            and assistant.get("role") == "assistant"
        ):
            texts = (system.get("content"), user.get("content"), assistant.get("content"))
            if type(texts[0]) is str and type(texts[1]) is str and type(texts[2]) is str:
                return texts  # type: ignore[return-value]
        return None


TARGETS: Final[dict[str, Target]] = {
    t.name: t for t in (BedrockClaude(), BedrockNova(), OpenAIChat())
}


def dumps(obj: dict[str, Any]) -> str:
    """One JSONL line, the same bytes for the same record every time."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=8)
def _encoded(text: str) -> str:
    """A JSON string literal as `dumps` writes it, kept for text repeated on every line (the
    system prompt)."""
    return encode_basestring(text)
