"""One module per REPORT; importing this package registers them all."""

from caldavd.http.reports import multiget, principals, query, sync

__all__ = ["multiget", "principals", "query", "sync"]
