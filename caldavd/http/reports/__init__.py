"""One module per REPORT; importing this package registers them all."""

from caldavd.http.reports import freebusy, multiget, principals, query, sync

__all__ = ["freebusy", "multiget", "principals", "query", "sync"]
