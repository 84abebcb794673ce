"""The store's own errors.  The HTTP layer maps them (walking the class
hierarchy) to DAV errors; nobody parses a message."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every store error."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or is shutting down."""


class StoreBusy(StoreUnavailable):
    """Every pooled connection stayed in use for as long as a request may wait for one."""


class NotFound(StoreError):
    """The home, calendar or object does not exist."""


class AlreadyExists(StoreError):
    """A calendar, folder or object with this name already exists."""


class DestinationExists(AlreadyExists):
    """A COPY or MOVE destination exists and Overwrite is F."""


class ETagMismatch(StoreError):
    """The object's ETag is not the one the writer expected (If-Match/If-None-Match)."""


class ScheduleTagMismatch(ETagMismatch):
    """The object's Schedule-Tag is not the one the writer expected, or it has none
    (If-Schedule-Tag-Match, RFC 6638 §8.3)."""


class UIDConflict(StoreError):
    """Another object of the calendar already has this UID, or the object a write would
    replace has another one (RFC 4791 §5.3.2.1).

    Names the holder: the uid of the home's owner, the calendar's name in that home
    and the object's name.
    """

    def __init__(self, home_uid: str, calendar_name: str, object_name: str) -> None:
        super().__init__(f"UID already used by {calendar_name}/{object_name}")
        self.home_uid = home_uid
        self.calendar_name = calendar_name
        self.object_name = object_name


class SchedulingUIDConflict(UIDConflict):
    """A scheduling object in another calendar of the home has this UID (RFC 6638
    §3.2.4.1)."""


class ReadOnly(StoreError):
    """The calendar is bound read-only in this home."""


class InvalidSyncToken(StoreError):
    """The sync token is unknown or older than the kept tombstones."""


class ObjectTooLarge(StoreError):
    """The object exceeds the size limit."""


class QuotaExceeded(StoreError):
    """The home has no room left."""


class TooManyProperties(StoreError):
    """A resource would carry more dead properties, or more bytes of them, than allowed."""


class UnknownManagedId(StoreError):
    """Calendar data names a managed attachment that does not exist (or is not this
    home's to reference)."""

    def __init__(self, managed_ids: list[str]) -> None:
        super().__init__(f"unknown MANAGED-ID {', '.join(managed_ids)}")
        self.managed_ids = managed_ids
