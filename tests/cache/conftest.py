"""A throwaway real memcached per test, on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cache.test_memcached import Memcached
from tests.conftest import free_port


@pytest.fixture
def mc() -> Iterator[Memcached]:
    server = Memcached(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
