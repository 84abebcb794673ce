"""Waiting for a condition in async tests: poll it, fail after a generous deadline.

The deadline is a bound on a hang, never a timing being tested.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def until(condition: Callable[[], Awaitable[object]], what: str,
                seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not reached within {seconds} s")
