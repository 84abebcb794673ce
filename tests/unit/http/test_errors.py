"""The one table from store errors to DAV errors (caldavd.http.errors): statuses per
RFC 4918 §16 and RFC 4791 §1.3, holders named by their full href."""

from __future__ import annotations

import pytest

from caldavd.dav import errors as dav
from caldavd.dav import names
from caldavd.http.errors import to_dav_error
from caldavd.store import errors as store

HOLDER = "/calendars/__uids__/alice/work%20cal/e%201.ics"


@pytest.mark.parametrize(("error", "status", "element"), [
    (store.UIDConflict("alice", "work cal", "e 1.ics"), 409, names.NO_UID_CONFLICT),
    (store.SchedulingUIDConflict("alice", "work cal", "e 1.ics"), 403,
     names.UNIQUE_SCHEDULING_OBJECT_RESOURCE),
])
def test_uid_conflicts_name_the_holders_href(error: store.StoreError, status: int,
                                             element: str) -> None:
    mapped = to_dav_error(error)
    assert isinstance(mapped, dav.NoUIDConflict)
    assert (mapped.status, mapped.element, mapped.existing_href) == (status, element, HOLDER)
    assert f"<D:href>{HOLDER}</D:href>".encode() in (mapped.to_xml() or b"")


@pytest.mark.parametrize(("error", "status"), [
    (store.AlreadyExists("work"), 405),  # MKCALENDAR/MKCOL, race or not (RFC 4918 §9.3.1)
    (store.DestinationExists("x.ics"), 412),  # Overwrite: F (RFC 4918 §9.8.5, §9.9.4)
    (store.ETagMismatch("stale"), 412),
    (store.NotFound("x"), 404),
])
def test_statuses(error: store.StoreError, status: int) -> None:
    mapped = to_dav_error(error)
    assert mapped is not None and mapped.status == status


@pytest.mark.parametrize("cls", [dav.ValidCalendarData, dav.ValidCalendarObjectResource,
                                 dav.ValidFilter])
def test_conditions_of_the_request_itself_are_403(cls: type[dav.DAVError]) -> None:
    """RFC 4791 §1.3: 403 when the request can never succeed as sent."""
    assert cls.status == 403
