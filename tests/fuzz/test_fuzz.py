"""The fuzz suite (issue 16, "A fuzzer of our own"): over 20,000 seeded, mutated requests
against a real caldavd process on a real database; see tests/fuzz/README.md for what is
asserted, how to rerun one request and how the known-unfixed list works.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from tests.fuzz import gen_http, gen_ical, gen_xml, readback, server
from tests.fuzz import targets as t
from tests.fuzz.client import Request
from tests.fuzz.known import KNOWN_UNFIXED
from tests.fuzz.run import Generator, Outcome, indexes, make, run_family, send_all

CORPUS = Path(__file__).with_name("corpus.jsonl")
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
FAMILIES: dict[str, tuple[Generator, int]] = {
    "xml": (gen_xml.generate, 7000),
    "ical": (gen_ical.generate, 6500),
    "headers": (gen_http.generate_headers, 4000),
    "urls": (gen_http.generate_urls, 3000),
}


def _check(fuzz_server: server.Server, outcome: Outcome, before: dict[Path, int]) -> None:
    found = list(server.log_problems(fuzz_server, before))
    assert fuzz_server.alive(), fuzz_server.out.read_text()[-5000:]
    assert not outcome.failures, outcome.report()
    assert not found, "\n\n".join(found[:5])


def corpus() -> list[Request]:
    """The regression seeds: requests that once failed, replayed first on every run
    (request N is line N of corpus.jsonl, 0-based, for ``FUZZ_ONLY=corpus:N``)."""
    requests = []
    for number, line in enumerate(CORPUS.read_text().splitlines()):
        if not line.strip() or line.startswith("#"):
            continue
        entry = json.loads(line)
        body = (base64.b64decode(entry["body_b64"]) if "body_b64" in entry
                else entry.get("body", "").encode())
        headers = [(n, v.encode("latin-1")) for n, v in entry.get("headers", [])]
        if entry.get("user", "fuzz01"):
            headers.append(("Authorization", server.basic(entry.get("user", "fuzz01"))))
        length = entry.get("content_length")
        if number not in indexes("corpus", number + 1):
            continue
        requests.append(Request(entry["method"], entry["target"].encode("latin-1"), headers,
                                body, family="corpus", index=number,
                                tags=[entry["name"], *entry.get("tags", [])],
                                content_length=None if length is None else length.encode()))
    return requests


async def test_corpus_of_known_bad_inputs(fuzz_server: server.Server) -> None:
    before = server.offsets(fuzz_server)
    outcome = await send_all(corpus(), fuzz_server.host, fuzz_server.port, connections=1)
    _check(fuzz_server, outcome, before)
    assert outcome.sent > 0


@pytest.mark.slow
@pytest.mark.parametrize("family", list(FAMILIES))
async def test_family(fuzz_server: server.Server, family: str) -> None:
    generate, count = FAMILIES[family]
    before = server.offsets(fuzz_server)
    outcome = await run_family(family, generate, int(count * SCALE), fuzz_server.host,
                               fuzz_server.port)
    print(f"{family}: {outcome.summary()}")
    _check(fuzz_server, outcome, before)


async def test_everything_stored_stays_readable(fuzz_server: server.Server) -> None:
    found: list[str] = []
    for user, home in (("fuzz01", t.HOME), ("fuzz02", t.OTHER_HOME)):
        client = readback.Client(fuzz_server.host, fuzz_server.port, user)
        for calendar in await readback.calendars_of(client, home):
            found += await readback.unreadable(client, calendar)
        await client.connection.close()
    assert not found, "\n".join(found[:30])
    assert not list(server.log_problems(fuzz_server, {}))


def test_known_unfixed_entries_name_an_issue_item_and_match_something() -> None:
    """An entry that matches no generated request is stale: the list must shrink."""
    samples = [make(generate, family, index) for family, (generate, _) in FAMILIES.items()
               for index in range(300)] + corpus()
    for name, entry in KNOWN_UNFIXED.items():
        assert "issue" in entry.why and "item" in entry.why, f"{name}: name the issue item"
        assert any(entry.matches(r) for r in samples), f"{name} matches no request: remove it"
