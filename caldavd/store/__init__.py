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
    StoreBusy,
    StoreError,
    StoreUnavailable,
    UIDConflict,
    UnknownManagedId,
)
from caldavd.store.interface import Store
from caldavd.store.model import (
    Attachment,
    BindMode,
    Calendar,
    CalendarObject,
    Candidate,
    Change,
    Home,
    InstanceRow,
    Listing,
    Matches,
    NewAttachment,
    NewCalendar,
    ObjectWrite,
    PlainResource,
)

__all__ = [
    "AlreadyExists",
    "Attachment",
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
    "NewAttachment",
    "NewCalendar",
    "NotFound",
    "ObjectTooLarge",
    "ObjectWrite",
    "PlainResource",
    "QuotaExceeded",
    "ReadOnly",
    "Store",
    "StoreBusy",
    "StoreError",
    "StoreUnavailable",
    "UIDConflict",
    "UnknownManagedId",
]
