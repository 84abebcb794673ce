"""Errors raised while reading and checking configuration."""

from __future__ import annotations

from collections.abc import Iterable


class ConfigInvalid(Exception):
    """The configuration cannot be used.

    ``problems`` holds every problem found, one operator-readable line each,
    naming the key path (or file) and why.
    """

    def __init__(self, problems: Iterable[str], warnings: Iterable[str] = ()) -> None:
        self.problems: list[str] = list(problems)
        self.warnings: list[str] = list(warnings)
        super().__init__(self._summary())

    def _summary(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0]
        return f"{len(self.problems)} configuration problems: " + "; ".join(self.problems)
