"""The store's SQL functions, one file per version of each, loaded by the migrations.

``sql/<function>.v<N>.sql`` holds version N of one function: the one
``CREATE FUNCTION`` statement a migration runs, as
``op.execute(definition("caldav_put_object", 2))``.  A version, once shipped,
never changes (a database created from it holds its text): a change is
version N+1 and a migration that loads it, so an old migration keeps creating
what it always created.  The highest version of each function is its current
definition, the one a database at head holds (``tests/store/test_schema.py``
proves both).  ``sql/README.md`` says the rest.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable

_FILE = re.compile(r"(?P<name>\w+)\.v(?P<version>[1-9][0-9]*)\.sql")


def definition(name: str, version: int) -> str:
    """Version ``version`` of function ``name``: its CREATE FUNCTION statement, without the
    file's leading ``--`` comment lines (they would pass through SQLAlchemy's text())."""
    text = (_directory() / f"{name}.v{version}.sql").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    while lines and (lines[0].startswith("--") or not lines[0].strip()):
        del lines[0]
    return "".join(lines)


def versions() -> list[tuple[str, int]]:
    """Every (function, version) there is a file for, in order."""
    found = (_FILE.fullmatch(entry.name) for entry in _directory().iterdir())
    return sorted((f["name"], int(f["version"])) for f in found if f is not None)


def head_versions() -> dict[str, int]:
    """Each function's highest version: what a database at head holds."""
    return dict(versions())  # sorted: a function's highest version comes last


def _directory() -> Traversable:
    return resources.files("caldavd.store.postgres") / "sql"
