"""caldavd configuration: the seed's plist keys, defaults, loading and checking.

Standard library only.  Nothing happens at import time and there is no global
configuration object: callers load one ``Config`` and pass it along.
"""

from caldavd.config.dsn import DSN, DSNError, parse_dsn
from caldavd.config.effective import effective_config
from caldavd.config.errors import ConfigInvalid
from caldavd.config.load import LoadedConfig, build_config, load_config
from caldavd.config.model import (
    AuthenticationSettings,
    BasicAuthSettings,
    Config,
    DirectoryCachingSettings,
    DirectoryService,
    MemcachedPool,
    MemcachedSettings,
    PostgresSettings,
    ProxyDBService,
    worker_count,
)
from caldavd.config.overrides import parse_overrides
from caldavd.config.schema import ReferenceRow, reference_rows

__all__ = [
    "DSN",
    "AuthenticationSettings",
    "BasicAuthSettings",
    "Config",
    "ConfigInvalid",
    "DSNError",
    "DirectoryCachingSettings",
    "DirectoryService",
    "LoadedConfig",
    "MemcachedPool",
    "MemcachedSettings",
    "PostgresSettings",
    "ProxyDBService",
    "ReferenceRow",
    "build_config",
    "effective_config",
    "load_config",
    "parse_dsn",
    "parse_overrides",
    "reference_rows",
    "worker_count",
]
