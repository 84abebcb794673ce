"""The lookup batcher: one fetch per loop iteration, failures and cancellation per caller."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from caldavd.store.postgres.batch import Batcher
from caldavd.store.postgres.timing import CURRENT, DBTimer


class Recorder:
    def __init__(self, fail_on: str | None = None, delay: float = 0.0) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on
        self.delay = delay
        self.fetching = asyncio.Event()

    async def fetch(self, keys: Sequence[str]) -> list[str]:
        self.calls.append(list(keys))
        self.fetching.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_on in keys:
            raise LookupError(self.fail_on)
        return [k.upper() for k in keys]


async def test_lookups_of_one_iteration_share_one_fetch_and_keep_their_order() -> None:
    recorder = Recorder()
    batcher: Batcher[str, str] = Batcher(recorder.fetch)
    results = await asyncio.gather(*(batcher.load(k) for k in ["a", "b", "c", "a"]))
    assert results == ["A", "B", "C", "A"]
    assert recorder.calls == [["a", "b", "c", "a"]]


async def test_a_lone_lookup_is_sent_at_once_without_waiting_for_company() -> None:
    recorder = Recorder()
    batcher: Batcher[str, str] = Batcher(recorder.fetch)
    assert await asyncio.wait_for(batcher.load("x"), 1.0) == "X"
    assert await batcher.load("y") == "Y"
    assert recorder.calls == [["x"], ["y"]]


async def test_batches_are_capped() -> None:
    recorder = Recorder()
    batcher: Batcher[str, str] = Batcher(recorder.fetch, max_batch=2)
    assert await asyncio.gather(*(batcher.load(k) for k in "abcde")) == list("ABCDE")
    assert recorder.calls == [["a", "b"], ["c", "d"], ["e"]]


async def test_a_failed_fetch_fails_every_caller_of_that_batch_only() -> None:
    recorder = Recorder(fail_on="bad")
    batcher: Batcher[str, str] = Batcher(recorder.fetch)
    results = await asyncio.gather(batcher.load("ok"), batcher.load("bad"),
                                   return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)
    assert await batcher.load("ok") == "OK"  # the next batch is unaffected


async def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    recorder = Recorder(delay=0.05)
    batcher: Batcher[str, str] = Batcher(recorder.fetch)
    doomed = asyncio.ensure_future(batcher.load("a"))
    kept = asyncio.ensure_future(batcher.load("b"))
    await recorder.fetching.wait()  # cancelled while the fetch is under way, however slow the loop
    doomed.cancel()
    assert await kept == "B"
    with pytest.raises(asyncio.CancelledError):
        await doomed


async def test_each_caller_of_a_batch_is_charged_its_share_of_the_statement() -> None:
    """Issue #17, item 7: the fetch runs in a task of the first caller's context, so the
    first request was charged the whole statement and the others nothing; each gets an
    equal part now, and the parts add up to the statement's time."""

    async def fetch(keys: Sequence[str]) -> list[str]:
        timer = CURRENT.get()  # as the pool charges the connection it lends
        if timer is not None:
            timer.seconds += 0.3
            timer.uses += 1
        return list(keys)

    batcher: Batcher[str, str] = Batcher(fetch)

    async def request(key: str) -> DBTimer:
        timer = DBTimer()
        CURRENT.set(timer)  # this task's context, as the HTTP layer does per request
        await batcher.load(key)
        return timer

    timers = await asyncio.gather(*(request(k) for k in "abc"))
    assert [t.seconds for t in timers] == pytest.approx([0.1, 0.1, 0.1])
    assert sum(t.seconds for t in timers) == pytest.approx(0.3)
    assert [t.uses for t in timers] == [1, 1, 1]
    assert CURRENT.get() is None
