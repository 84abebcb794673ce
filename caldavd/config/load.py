"""Entry points: a Config from a plist file, or from a dict of overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caldavd.config.errors import ConfigInvalid
from caldavd.config.model import Config, build
from caldavd.config.overrides import ORIGIN as OVERRIDE_ORIGIN
from caldavd.config.plist import LayerReader, merge
from caldavd.config.schema import default_tree
from caldavd.config.validate import Report, dsn_of, validate


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    warnings: list[str] = field(default_factory=list)


def load_config(path: str | os.PathLike[str], hostname: str | None = None,
                overrides: Mapping[str, Any] | None = None) -> LoadedConfig:
    """Read ``path`` (with its ImportConfig and Includes) over the defaults and check it.

    ``hostname`` replaces ``$`` in include paths (default: ``socket.getfqdn()``).
    ``overrides`` (a tree from ``parse_overrides``) is merged last, over every file.
    Raises ConfigInvalid listing every problem; warnings come back with the config.
    """
    main = Path(path).absolute()
    reader = LayerReader(hostname)
    reader.read_main(main)
    layers = reader.layers
    if not layers.trees:  # the main file itself could not be read
        raise ConfigInvalid(layers.problems, layers.warnings)
    origins: dict[str, str] = {}
    tree = default_tree()
    for source, layer in layers.trees:
        tree = merge(tree, layer, origin=str(source), origins=origins)
    if overrides:
        tree = merge(tree, overrides, origin=OVERRIDE_ORIGIN, origins=origins)
    report = Report(origins=origins, show_origin=len(layers.trees) > 1 or bool(overrides))
    normal = validate(tree, report)
    problems = layers.problems + report.problems
    if problems:
        raise ConfigInvalid(problems, layers.warnings + report.warnings)
    config = build(normal, main_dir=main.parent, dsn=dsn_of(normal), config_file=main,
                   sources=tuple(source for source, _ in layers.trees))
    return LoadedConfig(config=config, warnings=layers.warnings + report.warnings)


def build_config(overrides: Mapping[str, Any], *, base_dir: Path) -> Config:
    """A Config from ``overrides`` merged over the defaults, checked like a file.

    For tests and tools: ``base_dir`` stands in for the main plist's directory.
    No files are read (``ImportConfig``/``Includes`` are kept but not followed);
    tuples and ``os.PathLike`` values are accepted as arrays and strings.
    """
    tree = merge(default_tree(), _plist_shaped(overrides))
    report = Report()
    normal = validate(tree, report)
    if report.problems:
        raise ConfigInvalid(report.problems)
    return build(normal, main_dir=Path(base_dir), dsn=dsn_of(normal))


def _plist_shaped(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plist_shaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plist_shaped(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value
