"""Reading numbers the way financial filings write them, and evaluating TAT-QA derivations.

Filings write `$1,452.4`, `(110)` for -110, `12.5%`, `−3` with a Unicode minus; derivations add
`×`, `x`, `÷`, square brackets and the occasional `%`. This module turns all of that into floats
and evaluates derivations exactly (a small recursive-descent parser, never `eval`).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

_CURRENCY = "$€£¥"
_PLAIN_NUMBER = re.compile(r"(\()?(-)?(\d{1,3}(?:,\d{3})+|\d+)?(\.\d+)?(%)?(\))?")
_SPACE_OR_CURRENCY = re.compile(r"[$€£¥\s]")
_NUMBER_IN_TEXT = re.compile(r"[-−–(]?[$€£¥]?\s?[-(]?\d[\d,]*(?:\.\d+)?%?\)?")


#: Cell texts repeat across a context's questions and across copies of a table: a parse is
#: memoised (bounded, so a million-record pass does not grow it without end). The rules judge
#: reads each cell many times per record; parsing was its hottest path before this cache.
_PARSE_CACHE_SIZE = 1 << 16


@functools.lru_cache(maxsize=_PARSE_CACHE_SIZE)
def parse_number(text: str) -> float | None:
    """`$1,452.4` -> 1452.4, `(110)` and `$(110)` -> -110, `12.5%` -> 12.5; else None."""
    s = text.strip().replace("−", "-").replace("–", "-")
    s = _SPACE_OR_CURRENCY.sub("", s)
    m = _PLAIN_NUMBER.fullmatch(s)
    if not m:
        return None
    opening, minus, whole, fraction, _, closing = m.groups()
    if not (whole or fraction) or bool(opening) != bool(closing):
        return None
    value = float((whole or "0").replace(",", "") + (fraction or ""))
    return -value if (opening or minus) else value


def numbers_in(text: str) -> list[float]:
    """Every number written inside free text (a sentence, or a cell with words around it)."""
    return list(_numbers_in(text))


@functools.lru_cache(maxsize=_PARSE_CACHE_SIZE)
def _numbers_in(text: str) -> tuple[float, ...]:
    out = []
    for token in _NUMBER_IN_TEXT.findall(text):
        token = token.strip().rstrip(".,")
        if token.count("(") != token.count(")"):
            token = token.replace("(", "").replace(")", "")
        value = parse_number(token)
        if value is not None:
            out.append(value)
    return tuple(out)


def decimals_of(value: float | int | str) -> int:
    """How many decimals an answer was written with (its rounding precision)."""
    text = value if isinstance(value, str) else repr(value)
    if "e" in text.lower():
        return 6
    return len(text.split(".", 1)[1].rstrip("%")) if "." in text else 0


# -- derivations ----------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<num>[" + _CURRENCY + r"]?\s*(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?\s*%?)"
    r"|(?P<op>[-+*/×x÷−–^()\[\]]))",
)


class DerivationError(ValueError):
    """The derivation is not an arithmetic expression this evaluator understands."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    value: float
    numbers: tuple[float, ...]  # every number written in the derivation, in order
    percent_numbers: bool  # some number carried a % sign
    divides_by_variable: bool  # a division by something other than a small constant (a ratio)
    expression: str = ""  # the derivation as written (what a reviewer recomputes)


def _tokens(text: str) -> list[tuple[str, str]]:
    pos = 0
    out: list[tuple[str, str]] = []
    text = text.strip()
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise DerivationError(f"unexpected {text[pos : pos + 10]!r}")
        if m.group("num") is not None:
            out.append(("num", m.group("num")))
        else:
            op = m.group("op")
            op = {"×": "*", "x": "*", "÷": "/", "−": "-", "–": "-", "[": "(", "]": ")"}.get(op, op)
            out.append(("op", op))
        pos = m.end()
    return out


SMALL_CONSTANTS = frozenset({0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 12.0, 100.0, 1000.0, 1_000_000.0})


class _Parser:
    def __init__(
        self, tokens: list[tuple[str, str]], accounting: bool, percent_fraction: bool = False
    ) -> None:
        self.tokens = tokens
        self.i = 0
        self.accounting = accounting
        self.percent_fraction = percent_fraction
        self.numbers: list[float] = []
        self.percent = False
        self.ratio = False

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise DerivationError("unexpected end")
        self.i += 1
        return tok

    def expr(self) -> float:
        value = self.term()
        while (tok := self.peek()) and tok[1] in "+-" and tok[0] == "op":
            self.take()
            rhs = self.term()
            value = value + rhs if tok[1] == "+" else value - rhs
        return value

    def term(self) -> float:
        value = self.power()
        while (tok := self.peek()) and tok[0] == "op" and tok[1] in "*/":
            self.take()
            start = len(self.numbers)
            rhs = self.power()
            if tok[1] == "*":
                value *= rhs
            else:
                used = self.numbers[start:]
                if not (len(used) == 1 and abs(used[0]) in SMALL_CONSTANTS):
                    self.ratio = True
                if rhs == 0:
                    raise DerivationError("division by zero")
                value /= rhs
        return value

    def power(self) -> float:
        base = self.unary()
        if (tok := self.peek()) and tok == ("op", "^"):
            self.take()
            exponent = self.unary()
            try:
                return float(base**exponent)
            except (OverflowError, ZeroDivisionError) as exc:
                raise DerivationError(str(exc)) from exc
        return base

    def unary(self) -> float:
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in "+-":
            self.take()
            value = self.unary()
            return -value if tok[1] == "-" else value
        return self.atom()

    def atom(self) -> float:
        tok = self.take()
        if tok[0] == "num":
            return self.number(tok[1])
        if tok[1] == "(":
            # `(110)` on its own is an accounting negative in the alternative reading.
            nxt = self.tokens[self.i : self.i + 2]
            if self.accounting and len(nxt) == 2 and nxt[0][0] == "num" and nxt[1] == ("op", ")"):
                self.i += 2
                return -self.number(nxt[0][1])
            value = self.expr()
            if self.take() != ("op", ")"):
                raise DerivationError("unbalanced brackets")
            return value
        raise DerivationError(f"unexpected {tok[1]!r}")

    def number(self, text: str) -> float:
        value = parse_number(text)
        if value is None:
            raise DerivationError(f"bad number {text!r}")
        self.percent = self.percent or "%" in text
        self.numbers.append(value)
        if self.percent_fraction and "%" in text:
            return value / 100
        return value


def evaluate(derivation: str) -> list[Evaluation]:
    """Every reading of the derivation that parses: plain, with `(n)` as a negative, and with
    `n%` as the fraction n/100 (as in `53% * $23,406`)."""
    tokens = _tokens(derivation)
    if not tokens:
        raise DerivationError("empty")
    results: list[Evaluation] = []
    errors: list[str] = []
    has_percent = any(kind == "num" and "%" in text for kind, text in tokens)
    for accounting, fraction in ((False, False), (True, False), (False, True))[
        : 3 if has_percent else 2
    ]:
        parser = _Parser(tokens, accounting, fraction)
        try:
            value = parser.expr()
            if parser.peek() is not None:
                raise DerivationError(f"unexpected {parser.peek()[1]!r}")  # type: ignore[index]
        except DerivationError as exc:
            errors.append(str(exc))
            continue
        if math.isfinite(value):
            ev = Evaluation(
                value, tuple(parser.numbers), parser.percent, parser.ratio, derivation.strip()
            )
            if ev not in results:
                results.append(ev)
    if not results:
        raise DerivationError(errors[0] if errors else "no value")
    return results


def matches(computed: float, answer: float, answer_decimals: int) -> bool:
    """Does `computed` round to `answer` at the answer's precision?

    Half a unit of the last written decimal, plus a hair for float error: a perturbed answer one
    unit off must not pass.
    """
    unit = 10.0 ** (-answer_decimals)
    return abs(computed - answer) <= unit * 0.5 + 1e-9 * max(1.0, abs(answer))
