"""What every generator shares: named mutation operators, hostile values, the picker.

An operator is a function ``(rng, value) -> value`` registered under a *tag*; the
tags a request was built with go into ``Request.tags``, which failure reports print and
``tests/fuzz/known.py`` matches.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
Operator = Callable[[random.Random, T], T]

CONTROL = [chr(c) for c in range(0, 32) if c not in (9, 10, 13)] + ["\x7f"]

NASTY_TEXT = [
    "", " ", "-1", "0", "1", "99999999999999999999", "NaN", "true", ":", ";", ",", "\\",
    "'\"<>&", "&amp;", "]]>", "<!--", "%00", "%zz", "../../etc/passwd", "/", "//", "http://x/",
    "mailto:", "mailto:fuzz02@example.com", "urn:uuid:", "\u202e\u202d", "\U0001f600",
    "\ufeff", "\u00e9" * 300, "A" * 5000, "\u0130\u0131", "DAV:", "{DAV:}getetag",
    "/principals/__uids__/../", "20260101T000000Z", "00000000T000000Z", "99991231T235959Z",
    "20261332T256060Z", "19000101T000000Z", "20260101", "P1D", "-PT1H", "P99999999W",
]

NASTY_DATES = [
    "20260101T000000Z", "20260201T000000Z", "20260101", "20260101T000000", "2026-01-01T00:00Z",
    "00000000T000000Z", "00010101T000000Z", "19700101T000000Z", "20380119T031408Z",
    "20261332T256060Z", "20260229T000000Z", "20240229T000000Z", "2026010T000000Z",
    "20260101T000000+0100", "20260101T240000Z", "-20260101T000000Z", "", "today", "T",
    "20260101TZ", "99991231T235959Z", "20260101T000000.5Z",
]

WIDE_DATES = ["00010101T000000Z", "19000101T000000Z", "21000101T000000Z",
              "99991231T235959Z", "30000101T000000Z"]


def control_text(rng: random.Random) -> str:
    return "".join(rng.choice(CONTROL) for _ in range(rng.randint(1, 4)))


def nasty_text(rng: random.Random, *, controls: bool) -> str:
    if controls and rng.random() < 0.2:
        return rng.choice(NASTY_TEXT) + control_text(rng)
    return rng.choice(NASTY_TEXT)


class Registry:
    """Operators of one kind of value, by tag."""

    def __init__(self) -> None:
        self.operators: list[tuple[str, Callable[[random.Random, object], object]]] = []

    def register(self, tag: str) -> Callable[[Operator[T]], Operator[T]]:
        def decorate(function: Operator[T]) -> Operator[T]:
            self.operators.append((tag, function))  # type: ignore[arg-type]
            return function
        return decorate

    def tags(self) -> set[str]:
        return {tag for tag, _ in self.operators}

    def apply(self, rng: random.Random, value: T, rounds: int, applied: list[str]) -> T:
        """``rounds`` operators chosen by ``rng`` applied in turn; their tags go to
        ``applied`` (what a failure report names)."""
        for _ in range(rounds):
            tag, function = rng.choice(self.operators)
            applied.append(tag)
            value = function(rng, value)  # type: ignore[assignment]
        return value


def pick(rng: random.Random, choices: Sequence[T]) -> T:
    return choices[rng.randrange(len(choices))]

