"""Delegation (calendar proxies): who may read or write whose calendars.

A delegator (a user, location or resource) names write delegates and read
delegates; a delegate may be a group, whose members inherit the grant.  Where
the assignments live is ``ProxyDBService``: the main store when unset, a
separate PostgreSQL database shared by every host (``ProxyPostgreSQLDB``), or a
local SQLite file for a single host (``ProxySqliteDB``).  Every read goes to
the database, so a grant or a revocation made through any host counts on every
host at the next request.
"""

from caldavd.proxy.base import Access, Assignment, ProxyDB, ProxyDBError

__all__ = ["Access", "Assignment", "ProxyDB", "ProxyDBError"]
