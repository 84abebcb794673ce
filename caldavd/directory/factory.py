"""Pick the directory backend named by ``DirectoryService.type``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from caldavd.cache.memcached import PoolStores, store_for
from caldavd.directory.base import Directory, DirectoryConfigError
from caldavd.directory.cache import CachingDirectory
from caldavd.directory.ldap import LdapDirectory, LdapSettings
from caldavd.directory.xml import AugmentsFile, XmlDirectory

if TYPE_CHECKING:
    from caldavd.config import Config

__all__ = ["DirectoryConfigError", "open_directory"]


# The memcached cache type (Memcached.Pools.<pool>.HandleCacheTypes) for directory records.
DIRECTORY_CACHE_TYPE = "DirectoryCache"


def open_directory(config: Config, pools: PoolStores | None = None) -> Directory:
    """The directory ``config`` names; its cache on ``pools`` (the server's shared
    memcached connections), or on a memcached client of its own when not given."""
    service = config.DirectoryService
    params = service.params
    if service.type == "xml":
        # The files are in memory already: caching would only delay a reload.
        return XmlDirectory(Path(params["xmlFile"]), Path(params["resourcesFile"]),
                            Path(params["augmentsFile"]), float(params["statSeconds"]))
    if service.type == "ldap":
        caching = config.DirectoryCaching
        augments = params.get("augmentsFile")
        directory: Directory = LdapDirectory(
            LdapSettings.from_params(params),
            augments=AugmentsFile(Path(augments), float(params.get("statSeconds", 15)))
            if augments else None,
            dn_cache_seconds=caching.CachingSeconds)
        if caching.CachingSeconds > 0:
            # Shared by every host through memcached when a pool serves it.
            directory = CachingDirectory(directory, caching.CachingSeconds,
                                         negative=caching.NegativeCaching,
                                         store=pools.for_type(DIRECTORY_CACHE_TYPE) if pools
                                         else store_for(config, DIRECTORY_CACHE_TYPE))
        return directory
    raise DirectoryConfigError(
        f"DirectoryService.type {service.type!r}: this caldavd has no such backend")
