"""The benchmark's core pinning (bench/server.py): caldavd must get a core of its own
even after the harness has narrowed its own mask to the load core (Findings 12)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bench.server import MACHINE_CPUS, BenchError, check_pinned, taskset_prefix

needs_two_cores = pytest.mark.skipif(
    len(MACHINE_CPUS) < 2 or shutil.which("taskset") is None,
    reason="pinning needs two usable cores and taskset")


@pytest.fixture
def narrowed() -> Iterator[tuple[int, int]]:
    """This process on one core, as bench.run puts the harness; restored afterwards."""
    server, load = sorted(MACHINE_CPUS)[:2]
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {load})
    try:
        yield server, load
    finally:
        os.sched_setaffinity(0, before)


@needs_two_cores
def test_a_child_gets_the_server_core_after_the_harness_narrowed_itself(
        narrowed: tuple[int, int]) -> None:
    server, _ = narrowed
    assert taskset_prefix(server) == ["taskset", "-c", str(server)]
    code = "import os; print(sorted(os.sched_getaffinity(0)))"
    out = subprocess.run([*taskset_prefix(server), sys.executable, "-c", code],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"[{server}]"


@needs_two_cores
def test_a_run_refuses_an_unpinned_server(narrowed: tuple[int, int]) -> None:
    server, load = narrowed
    with pytest.raises(BenchError, match="runs on cores"):
        check_pinned(os.getpid(), server, "caldavd")  # this process is on the load core
    check_pinned(os.getpid(), load, "the harness")


def test_no_pinning_for_a_core_the_machine_does_not_have() -> None:
    assert taskset_prefix(max(MACHINE_CPUS) + 1) == []
    assert taskset_prefix(None) == []
