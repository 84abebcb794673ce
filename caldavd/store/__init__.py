"""The store: an async interface, its domain errors and result types.

``store/postgres`` implements it with asyncpg.
"""

from caldavd.store.errors import (
    AlreadyExists,
    ETagMismatch,
    InvalidSyncToken,
    NotFound,
    ObjectTooLarge,
    QuotaExceeded,
    ReadOnly,
    StoreError,
    StoreUnavailable,
    UIDConflict,
)
from caldavd.store.interface import Store
from caldavd.store.model import (
    BindMode,
    Calendar,
    CalendarObject,
    Candidate,
    Change,
    Home,
    InstanceRow,
    Listing,
    Matches,
    NewCalendar,
    ObjectWrite,
    PlainResource,
)

__all__ = [
    "AlreadyExists",
    "BindMode",
    "Calendar",
    "CalendarObject",
    "Candidate",
    "Change",
    "ETagMismatch",
    "Home",
    "InstanceRow",
    "InvalidSyncToken",
    "Listing",
    "Matches",
    "NewCalendar",
    "NotFound",
    "ObjectTooLarge",
    "ObjectWrite",
    "PlainResource",
    "QuotaExceeded",
    "ReadOnly",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "UIDConflict",
]
