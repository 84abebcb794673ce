"""``-o Key=Value``: settings given on the command line, over the loaded plist.

Several hosts (or several caldavd on one machine) can then share one identical
caldavd.plist and differ only in what the command line says, e.g.
``-o BindAddresses=127.0.0.2 -o LogRoot=/srv/h2/logs``.  A value is text; it
takes the type the schema gives its key (integer, boolean, string, or a
comma-separated array of strings) and becomes the last layer merged over the
files, so the plist's own checks (ranges, ports, DSN, ...) apply to it too.
Nested keys are dotted: ``Memcached.MaxClients=3``,
``Memcached.Pools.Default.Port=11311``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from caldavd.config.errors import ConfigInvalid
from caldavd.config.schema import CONFIG, Kind, NamedSections, Scalar, Section, Spec

ORIGIN = "-o"
# Read before any -o applies: overriding them could not change which files were read.
FILE_KEYS = ("ImportConfig", "Includes")
_INTEGER = re.compile(r"^[+-]?\d+$")
_REAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


class _Bad(Exception):
    pass


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """A plist-shaped tree from ``Key=Value`` items; ConfigInvalid names every bad one."""
    tree: dict[str, Any] = {}
    problems: list[str] = []
    for item in items:
        try:
            path, value = _parse(item)
        except _Bad as exc:
            problems.append(str(exc))
            continue
        _put(tree, path, value)
    if problems:
        raise ConfigInvalid(problems)
    return tree


def _parse(item: str) -> tuple[list[str], Any]:
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise _Bad(f"-o {item!r}: expected Key=Value")
    path = key.split(".")
    if "" in path:
        raise _Bad(f"{key}: malformed key (in {ORIGIN})")
    return path, _converted(_scalar_at(path, key), text, key)


def _scalar_at(path: list[str], key: str) -> Scalar:
    if path[0] in FILE_KEYS:
        raise _Bad(f"{key}: cannot be given with {ORIGIN} (files are read first); "
                   "set it in the plist")
    spec: Spec = CONFIG
    for depth, part in enumerate(path):
        if isinstance(spec, Section):
            if part not in spec.keys:
                raise _Bad(f"{'.'.join(path[:depth + 1])}: unknown key (in {ORIGIN})")
            spec = spec.keys[part]
        elif isinstance(spec, NamedSections):
            spec = spec.item  # ``part`` names the entry (a pool)
        else:
            raise _Bad(f"{key}: cannot be given with {ORIGIN}; set it in the plist")
    if isinstance(spec, Scalar):
        return spec
    if isinstance(spec, Section | NamedSections):
        raise _Bad(f"{key}: is a dict; name a key inside it (e.g. {key}.<key>=value)")
    raise _Bad(f"{key}: cannot be given with {ORIGIN}; set it in the plist")


def _converted(spec: Scalar, text: str, key: str) -> Any:
    if spec.kind is Kind.STR:
        return text
    if spec.kind is Kind.STRINGS:
        return [part.strip() for part in text.split(",")] if text.strip() else []
    value = text.strip()
    if spec.kind is Kind.INT and _INTEGER.match(value):
        return int(value)
    if spec.kind is Kind.REAL and _REAL.match(value):
        return float(value)
    if spec.kind is Kind.BOOL and value.lower() in _BOOLEANS:
        return _BOOLEANS[value.lower()]
    # Secrets (DSN, passwords) are strings or inside services, so never shown here.
    raise _Bad(f"{key}: expected {spec.kind.value}, got {text!r} (in {ORIGIN})")


def _put(tree: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value
