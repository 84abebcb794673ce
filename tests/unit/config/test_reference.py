"""The README's configuration reference is generated and must match the code."""

from __future__ import annotations

from caldavd.config import reference
from caldavd.config.schema import reference_rows


def test_readme_reference_is_current() -> None:
    assert reference.main(["--check"]) == 0, "run: python -m caldavd.config.reference"


def test_every_key_has_help() -> None:
    rows = reference_rows()
    assert rows
    assert all(row.help.strip() for row in rows), [r.path for r in rows if not r.help.strip()]
    paths = {row.path for row in rows}
    for key in ("DBType", "DSN", "MaxDBConnectionsPerPool", "HTTPPort", "Memcached.Pools",
                "ProxyDBService", "DirectoryService"):
        assert any(p == key or p.startswith(key + ".") for p in paths), key
