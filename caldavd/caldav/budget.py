"""What one request may spend on recurrence instances, and whether it must stop.

A REPORT that expands stored data over a client's range (``calendar-data``
``expand``, ``free-busy-query``) is given a ``Budget`` of instances
(``MaxInstancesPerReport``); each expansion asks for at most what is left, so the
work of a request is bounded however wide its range or many its objects. The
work runs on an executor thread; the event loop ``cancel``s the budget when the
client hangs up, and the thread stops at its next ``check`` (between objects).
"""

from __future__ import annotations

import threading

__all__ = ["Budget", "Cancelled", "OverBudget"]


class OverBudget(Exception):
    """The request needs more instances than its budget allows."""


class Cancelled(Exception):
    """The request was given up (its client hung up)."""


class Budget:
    """``instances`` to spend; ``cancel`` may come from another thread."""

    def __init__(self, instances: int) -> None:
        self.remaining = instances
        self._stopped = threading.Event()

    def cancel(self) -> None:
        self._stopped.set()

    @property
    def cancelled(self) -> bool:
        return self._stopped.is_set()

    def check(self) -> None:
        """Raises Cancelled once the request was given up."""
        if self._stopped.is_set():
            raise Cancelled

    @property
    def ask(self) -> int:
        """How many instances to expand at most: one more than is left shows an excess."""
        return self.remaining + 1

    def spend(self, count: int) -> None:
        """Takes ``count`` instances, or raises OverBudget (and takes none)."""
        self.check()
        if count > self.remaining:
            raise OverBudget(f"more than {self.remaining} further instances")
        self.remaining -= count
