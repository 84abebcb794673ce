"""Sending a family of generated requests over several connections and judging them.

Request ``index`` of family ``F`` is generated from ``random.Random(f"{seed}/F/{index}")``
alone, so any one request can be generated again without the others (``FUZZ_ONLY``).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tests.fuzz.client import Connection, Request, Response
from tests.fuzz.known import known
from tests.fuzz.oracle import problems

Generator = Callable[[random.Random, int], Request]
DEFAULT_SEED = "16"
CONNECTIONS = 8
TIMEOUT = 30.0
MAX_REPORTED = 10


def seed() -> str:
    return os.environ.get("FUZZ_SEED", DEFAULT_SEED)


def only() -> tuple[str, int] | None:
    """``FUZZ_ONLY=family:index`` reruns one request."""
    value = os.environ.get("FUZZ_ONLY")
    if not value:
        return None
    family, index = value.split(":")
    return family, int(index)


def make(generate: Generator, family: str, index: int) -> Request:
    request = generate(random.Random(f"{seed()}/{family}/{index}"), index)
    request.family, request.index = family, index
    return request


def indexes(family: str, count: int) -> list[int]:
    chosen = only()
    if chosen is None:
        return list(range(count))
    return [chosen[1]] if chosen[0] == family else []


def bind(request: Request, host: str, port: int) -> Request:
    """The server's authority where the generator left a placeholder; a Host header."""
    def fill(value: bytes) -> bytes:
        return value.replace(b"@AUTHORITY@", f"{host}:{port}".encode()).replace(
            b"@PORT@", str(port).encode())
    request.target = fill(request.target)
    request.headers = [(name, fill(value)) for name, value in request.headers]
    if not any(name.lower() == "host" for name, _ in request.headers):
        request.headers.insert(0, ("Host", f"{host}:{port}".encode()))
    return request


@dataclass
class Failure:
    request: Request
    response: Response | None
    problems: list[str]

    def describe(self) -> str:
        got = "no answer" if self.response is None else (
            f"{self.response.status} {self.response.headers}\n{self.response.body[:1500]!r}")
        return (f"{'; '.join(self.problems)}\n  rerun: FUZZ_SEED={seed()} "
                f"FUZZ_ONLY={self.request.family}:{self.request.index}\n"
                f"  request {self.request.describe()}\n  answer {got}")


@dataclass
class Outcome:
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # by known finding
    stopped: bool = False
    failures: list[Failure] = field(default_factory=list)

    def report(self) -> str:
        kinds: dict[str, int] = {}
        for failure in self.failures:
            kind = f"{failure.request.method} {'; '.join(failure.problems)}"
            kinds[kind] = kinds.get(kind, 0) + 1
        summary = "\n".join(f"  {n} x {kind}" for kind, n in sorted(kinds.items()))
        shown = "\n\n".join(f.describe() for f in self.failures[:MAX_REPORTED])
        return (f"{len(self.failures)} of {self.sent} requests failed (seed {seed()}):\n"
                f"{summary}\n\n{shown}")

    def summary(self) -> str:
        return (f"{self.sent} requests, statuses {sorted(self.statuses.items())}, "
                f"skipped as known {self.skipped}")


async def _one(connection: Connection, request: Request, outcome: Outcome) -> None:
    try:
        response = await connection.send(request)
        found = problems(request, response)
    except TimeoutError:
        # The worker is stuck: every later request would wait as long.  Stop the run.
        await connection.close()
        response, found = None, [f"no answer within {TIMEOUT} s (run stopped)"]
        outcome.stopped = True
    except (OSError, ValueError) as exc:
        await connection.close()
        response, found = None, [f"{type(exc).__name__}: {exc}"]
    outcome.sent += 1
    if response is not None:
        outcome.statuses[response.status] = outcome.statuses.get(response.status, 0) + 1
    if found:
        outcome.failures.append(Failure(request, response, found))


async def send_all(requests: Iterable[Request], host: str, port: int,
                   connections: int = CONNECTIONS) -> Outcome:
    outcome = Outcome()
    pending = iter(requests)

    async def worker() -> None:
        connection = Connection(host, port, TIMEOUT)
        try:
            for request in pending:
                if outcome.stopped:
                    return
                if (name := known(request)) is not None:
                    outcome.skipped[name] = outcome.skipped.get(name, 0) + 1
                    continue
                await _one(connection, bind(request, host, port), outcome)
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return outcome


async def run_family(family: str, generate: Generator, count: int, host: str,
                     port: int) -> Outcome:
    requests = (make(generate, family, index) for index in indexes(family, count))
    return await send_all(requests, host, port)
