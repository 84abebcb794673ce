"""The store's role protocols and PostgresStore agree (mypy checks the types, in
``caldavd/store/postgres/store.py``; this checks names, parameters and defaults at run
time, where a protocol is not checked at all)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Protocol

import pytest

from caldavd.store import interface
from caldavd.store.postgres.store import PostgresStore

ROLES: list[type] = [
    interface.HomeStore, interface.PropertyStore, interface.ObjectStore,
    interface.QueryStore, interface.SyncStore, interface.PlainStore,
    interface.AttachmentStore, interface.AttachmentTrash, interface.ScheduleStore,
    interface.InboxStore,
    interface.HealthStore,
]


def _methods(role: type) -> list[str]:
    return [name for name, value in vars(role).items()
            if not name.startswith("_") and callable(value)]


def _parameters(function: Callable[..., object]) -> list[tuple[str, object, object]]:
    """Names, kinds and defaults; annotations are mypy's to compare."""
    return [(p.name, p.kind, p.default)
            for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.__name__)
def test_postgres_store_plays_the_role(role: type) -> None:
    for name in _methods(role):
        assert _parameters(getattr(PostgresStore, name)) == _parameters(getattr(role, name)), name


def test_the_roles_share_no_method_and_store_is_all_of_them() -> None:
    names = [name for role in ROLES for name in _methods(role)]
    assert len(names) == len(set(names))
    assert set(interface.Store.__bases__) - {Protocol} == set(ROLES)
    public = {name for name in dir(PostgresStore) if not name.startswith("_")}
    assert public == set(names)  # nothing a caller may use bypasses the contract
