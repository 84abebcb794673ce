"""Pick the directory backend named by ``DirectoryService.type``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from caldavd.directory.base import Directory
from caldavd.directory.xml import XmlDirectory

if TYPE_CHECKING:
    from caldavd.config import Config


class DirectoryConfigError(Exception):
    """The directory cannot be opened as configured; the message names the key."""


def open_directory(config: Config) -> Directory:
    service = config.DirectoryService
    if service.type == "xml":
        params = service.params
        return XmlDirectory(Path(params["xmlFile"]), Path(params["resourcesFile"]),
                            Path(params["augmentsFile"]), float(params["statSeconds"]))
    raise DirectoryConfigError(
        f"DirectoryService.type {service.type!r}: this caldavd has no such backend yet")
