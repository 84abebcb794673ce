"""Errors become responses here, and only here.

``DAVError`` subclasses carry their status and precondition element; store and
directory errors are mapped by one table, looked up along the class hierarchy
(so a new subclass is never silently unmapped).  Anything else is a bug: it is
logged with its traceback and answered with a bare 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from caldavd.attachments import errors as attachments
from caldavd.dav import errors as dav
from caldavd.dav.chars import log_text
from caldavd.dav.hrefs import quote_path
from caldavd.directory import DirectoryUnavailable
from caldavd.http.resources import CALENDARS, UIDS
from caldavd.proxy import ProxyDBError
from caldavd.store import errors as store

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

RETRY_AFTER = "30"
BUSY_RETRY_AFTER = "5"  # a busy pool frees up within seconds; an outage takes longer


def holder_href(exc: store.UIDConflict) -> str:
    """The href of the object holding the UID, in its owner's home."""
    return quote_path(f"{CALENDARS}{UIDS}/{exc.home_uid}/{exc.calendar_name}/"
                      f"{exc.object_name}")


def _uid_conflict(exc: Exception) -> dav.DAVError:
    if not isinstance(exc, store.UIDConflict):
        raise TypeError("not store.UIDConflict: exc")
    return dav.NoUIDConflict(holder_href(exc))


def _scheduling_uid_conflict(exc: Exception) -> dav.DAVError:
    if not isinstance(exc, store.SchedulingUIDConflict):
        raise TypeError("not store.SchedulingUIDConflict: exc")
    return dav.UniqueSchedulingObjectResource(holder_href(exc))


_TABLE: dict[type[Exception], Callable[[Exception], dav.DAVError]] = {
    # A body whose chunked framing is broken: aiohttp's words, whose last line is the reason.
    web.RequestPayloadError: lambda e: dav.BadRequest(
        "the request body cannot be read: " + (str(e).splitlines() or [""])[-1].strip()),
    store.NotFound: lambda e: dav.NotFound(str(e)),
    # Creating what exists (MKCALENDAR, MKCOL, whether or not it lost a race): 405.
    store.AlreadyExists: lambda e: dav.ResourceMustBeNull(f"{e} exists"),
    store.DestinationExists: lambda e: dav.PreconditionFailed(
        f"{e} exists and Overwrite is F"),
    store.ETagMismatch: lambda e: dav.PreconditionFailed(str(e)),
    store.UIDConflict: _uid_conflict,
    store.SchedulingUIDConflict: _scheduling_uid_conflict,
    store.ReadOnly: lambda e: dav.NeedPrivileges("the calendar is read-only"),
    store.InvalidSyncToken: lambda e: dav.ValidSyncToken("sync token is invalid or too old"),
    store.ObjectTooLarge: lambda e: dav.MaxResourceSize(str(e)),
    store.QuotaExceeded: lambda e: dav.QuotaNotExceeded(str(e)),
    store.TooManyProperties: lambda e: dav.MaxDeadProperties(str(e)),
    store.UnknownManagedId: lambda e: dav.ValidManagedId(str(e)),
    attachments.AttachmentTooLarge: lambda e: dav.MaxAttachmentSize(str(e)),
    attachments.TooManyAttachments: lambda e: dav.MaxAttachmentsPerResource(str(e)),
    attachments.UnknownRid: lambda e: dav.ValidRidParameter(str(e)),
    attachments.NotInResource: lambda e: dav.ValidManagedIdParameter(str(e)),
    attachments.StorageFull: lambda e: dav.SufficientDiskSpace("the attachment storage is full"),
    attachments.StorageUnavailable: lambda e: dav.ServiceUnavailable(
        "the attachment storage is unavailable", headers={"Retry-After": RETRY_AFTER}),
    store.StoreBusy: lambda e: dav.ServiceUnavailable(
        "the database is busy", headers={"Retry-After": BUSY_RETRY_AFTER}),
    store.StoreUnavailable: lambda e: dav.ServiceUnavailable(
        "the database is unavailable", headers={"Retry-After": RETRY_AFTER}),
    DirectoryUnavailable: lambda e: dav.ServiceUnavailable(
        "the directory is unavailable", headers={"Retry-After": RETRY_AFTER}),
    ProxyDBError: lambda e: dav.ServiceUnavailable(
        "the delegation database is unavailable", headers={"Retry-After": RETRY_AFTER}),
}


def to_dav_error(exc: Exception) -> dav.DAVError | None:
    if isinstance(exc, dav.DAVError):
        return exc
    for cls in type(exc).__mro__:
        convert = _TABLE.get(cls)
        if convert is not None:
            return convert(exc)
    return None


def error_response(error: dav.DAVError) -> web.Response:
    body = error.to_xml()
    headers = dict(error.headers)
    if body is None:
        return web.Response(status=error.status, text=error.message + "\n",
                            headers=headers)
    return web.Response(status=error.status, body=body, headers=headers,
                        content_type="application/xml", charset="utf-8")


def guarded(handler: Handler) -> Handler:
    """``handler`` with its errors answered as ``DAVError`` responses (a bug: 500).

    A wrapper of the route handler rather than a middleware: with any middleware
    at all aiohttp builds a chain per request and adds a layer of its own, about
    3% of a GET here.
    """

    async def guarded_handler(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except ConnectionResetError:
            # The client hung up while sending its body: nobody to answer, nothing broken.
            log.info("%s %s: the client closed the connection", request.method,
                     log_text(request.path))
            return web.Response(status=400, text="connection closed by the client\n")
        except Exception as exc:
            error = to_dav_error(exc)
            if error is None:
                log.exception("unhandled error in %s %s", request.method, log_text(request.path))
                return web.Response(status=500, text="internal server error\n")
            if error.status >= 500:  # the cause's own words (e.g. a path), not the client's
                log.warning("%s %s: %s", request.method, log_text(request.path), exc)
            return error_response(error)

    return guarded_handler
