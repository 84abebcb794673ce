"""Reading plist files safely and layering them.

Layer order for one file: its ``ImportConfig`` base (itself layered the same
way), the file, then each of its ``Includes`` in order.  Dicts merge
recursively; every other value replaces.  Relative ``ImportConfig`` and
``Includes`` paths are taken against the directory of the file naming them.
"""

from __future__ import annotations

import datetime
import plistlib
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

MAX_PLIST_BYTES = 1 << 20
# An internal DTD subset is where entity declarations live; plistlib already
# refuses <!ENTITY, this also refuses the subset with a clearer message.
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[")
# With a DOCTYPE naming an external DTD, expat silently drops references to
# entities it does not know, so a value would lose text without a word.
_ENTITY_REFERENCE = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)"
                               rb"([A-Za-z_:][-A-Za-z0-9_.:]*);")


class PlistError(Exception):
    """A file that is not a readable plist; the message names the file."""


def type_name(value: object) -> str:
    """The plist name of a value's type, for error lines."""
    names: list[tuple[type, str]] = [
        (bool, "boolean"), (int, "integer"), (float, "real"), (str, "string"),
        (list, "array"), (tuple, "array"), (dict, "dict"), (bytes, "data"),
        (datetime.datetime, "date"),
    ]
    for cls, name in names:
        if isinstance(value, cls):
            return name
    return type(value).__name__


def read_plist(path: Path) -> dict[str, Any]:
    """One XML plist whose top level is a dict; PlistError says what is wrong."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PLIST_BYTES + 1)
    except OSError as exc:
        raise PlistError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_PLIST_BYTES:
        raise PlistError(f"{path}: larger than {MAX_PLIST_BYTES // 1024} KiB; "
                         "not a configuration file")
    if b"<!ENTITY" in data:
        raise PlistError(f"{path}: XML entity declarations are not allowed")
    if _INTERNAL_SUBSET.search(data):
        raise PlistError(f"{path}: a DOCTYPE with an internal subset is not allowed")
    unknown = _ENTITY_REFERENCE.search(data)
    if unknown:
        line = data.count(b"\n", 0, unknown.start()) + 1
        name = unknown.group(1).decode("ascii", "replace")
        raise PlistError(f"{path}, line {line}: not a valid plist: undefined entity &{name};")
    try:
        value = plistlib.loads(data, fmt=plistlib.FMT_XML)
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code) if exc.code else str(exc)
        raise PlistError(f"{path}, line {exc.lineno}: not a valid plist: {reason}") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise PlistError(f"{path}: not a valid plist: {_plistlib_reason(exc)}") from None
    if not isinstance(value, dict):
        raise PlistError(f"{path}: the top level is {type_name(value)}, expected a dict")
    return value


def _plistlib_reason(exc: Exception) -> str:
    text = str(exc)
    # Those messages would repeat the element's text, which might be a secret.
    if "invalid literal for int()" in text:
        return "an <integer> element holds something that is not an integer"
    if "could not convert string to float" in text:
        return "a <real> element holds something that is not a number"
    return text or type(exc).__name__


def merge(base: Mapping[str, Any], overlay: Mapping[str, Any], *, origin: str | None = None,
          origins: dict[str, str] | None = None, prefix: str = "") -> dict[str, Any]:
    """``overlay`` deep-merged over ``base`` (neither is changed).

    A dict with a ``type`` (``DirectoryService``, ``ProxyDBService``) that names
    a different type replaces the old dict: params of one backend mean nothing
    to another.  ``origins`` records which file set each key path.
    """
    result = dict(base)
    for key, value in overlay.items():
        path = prefix + key
        old = result.get(key)
        if isinstance(old, dict) and isinstance(value, dict) and not _changes_type(old, value):
            result[key] = merge(old, value, origin=origin, origins=origins, prefix=path + ".")
        else:
            result[key] = _copy(value)
            _record(origins, path, value, origin)
    return result


def _changes_type(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return "type" in old and "type" in new and old["type"] != new["type"]


def _record(origins: dict[str, str] | None, path: str, value: Any, origin: str | None) -> None:
    if origins is None or origin is None:
        return
    origins[path] = origin
    if isinstance(value, dict):
        for key, sub in value.items():
            _record(origins, f"{path}.{key}", sub, origin)


def _copy(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


@dataclass
class Layers:
    """The files read, in merge order, and what went wrong reading them."""

    trees: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class LayerReader:
    """Reads a main plist with its ImportConfig base and Includes, recursively."""

    def __init__(self, hostname: str | None = None) -> None:
        self._hostname = hostname
        self.layers = Layers()

    def read_main(self, path: Path) -> None:
        self._read(path, (), on_missing=self._main_missing)

    def _read(self, path: Path, stack: tuple[Path, ...],
              on_missing: Callable[[Path], None]) -> None:
        path = path.absolute()
        identity = path.resolve()
        if identity in stack:
            chain = " -> ".join(str(p) for p in (*stack, identity))
            self.layers.problems.append(f"{path}: configuration files form a cycle: {chain}")
            return
        if not path.exists():
            on_missing(path)
            return
        try:
            tree = read_plist(path)
        except PlistError as exc:
            self.layers.problems.append(str(exc))
            return
        inner = (*stack, identity)
        base = tree.get("ImportConfig")
        if isinstance(base, str) and base:
            self._read(path.parent / base, inner, on_missing=self._import_missing(path))
        self.layers.trees.append((path, tree))
        includes = tree.get("Includes")
        if isinstance(includes, list):
            for include in includes:
                if isinstance(include, str) and include:
                    target = path.parent / include.replace("$", self._fqdn())
                    self._read(target, inner, on_missing=self._include_missing(path))

    def _fqdn(self) -> str:
        if self._hostname is None:
            self._hostname = socket.getfqdn()
        return self._hostname

    def _main_missing(self, path: Path) -> None:
        self.layers.problems.append(f"{path}: configuration file not found")

    def _import_missing(self, parent: Path) -> Callable[[Path], None]:
        def report(path: Path) -> None:
            self.layers.problems.append(f"ImportConfig: {path} not found (named in {parent})")
        return report

    def _include_missing(self, parent: Path) -> Callable[[Path], None]:
        def report(path: Path) -> None:
            self.layers.warnings.append(
                f"Includes: {path} not found (named in {parent}); skipped")
        return report
