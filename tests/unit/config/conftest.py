"""Helpers for configuration tests: plist files written into tmp_path."""

from __future__ import annotations

import plistlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

WritePlist = Callable[..., Path]


@pytest.fixture
def write_plist(tmp_path: Path) -> WritePlist:
    """write_plist(name, tree) -> path of an XML plist holding ``tree``."""

    def write(name: str, tree: dict[str, Any]) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(plistlib.dumps(tree, fmt=plistlib.FMT_XML))
        return path

    return write
