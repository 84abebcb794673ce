"""Findings of the fuzzer that are known, owned by an issue item, and not yet fixed on main.

Each entry names the issue item that fixes it and says which generated requests it
covers (a predicate on the request: usually "carries mutation tag X", see
``tests/fuzz/mutate.py``).  The runner skips those requests and says how many, so the
rest of the run still has to pass.  When the fix lands on main, delete the entry: the
fuzzer then sends those requests again and proves the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.fuzz.client import Request


@dataclass(frozen=True)
class Known:
    why: str
    matches: Callable[[Request], bool]


def tagged(tag: str) -> Callable[[Request], bool]:
    return lambda request: tag in request.tags


KNOWN_UNFIXED: dict[str, Known] = {
}


def known(request: Request) -> str | None:
    """The name of the known finding ``request`` would hit, if any."""
    return next((name for name, entry in KNOWN_UNFIXED.items() if entry.matches(request)),
                None)
