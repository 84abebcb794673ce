"""The effective configuration as a plist-shaped tree (``caldavd --check-config``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from caldavd.config.model import Config
from caldavd.config.validate import is_secret

MASK = "********"


def effective_config(config: Config, mask_passwords: bool = True) -> dict[str, Any]:
    """Every key with its effective value, paths resolved.

    Only plist-representable values appear (strings, integers, booleans,
    arrays, dicts; unset keys are left out), so the result can be written with
    ``plistlib.dumps`` or ``json.dumps``.  With ``mask_passwords`` every
    password, including the one inside ``DSN``, reads ``********``.
    """
    tree: dict[str, Any] = _plain(config)
    if mask_passwords:
        tree = _masked(tree)
        if config.DSN:
            tree["DSN"] = config.dsn.masked(MASK) if config.dsn is not None else MASK
    return tree


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.metadata.get("derived") and getattr(value, f.name) is not None}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _masked(tree: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out[key] = _masked(value)
        elif is_secret(key) and value:
            out[key] = MASK
        else:
            out[key] = value
    return out
