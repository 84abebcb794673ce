"""Typed DAV errors: each precondition is a class carrying its element and status.

Status follows RFC 4791 §1.3 and RFC 4918 §16: 403 when the request can never
succeed (a condition of the request itself: its body, its headers), 409 when the
client can fix it by changing the state of a resource (a UID held elsewhere), 412
only for If-Match/If-None-Match and Overwrite, and what an RFC names where it names
a status (405 resource-must-be-null, 507 quota-not-exceeded).
One middleware in ``caldavd.http`` renders every ``DAVError`` as a
``DAV:error`` body (RFC 4918 §16).
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from caldavd.dav import names
from caldavd.dav.chars import comment_text, xml_chars


class DAVError(Exception):
    """An HTTP error with an optional ``DAV:error`` body.

    ``element`` is the Clark name of the precondition/postcondition element
    (None: no body); ``children`` are extra elements placed inside it.
    """

    status: int = 400
    element: str | None = None

    def __init__(self, message: str = "", *, status: int | None = None,
                 children: Sequence[etree._Element] = (),
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or "")
        if status is not None:
            self.status = status
        self.children = list(children)
        self.headers = dict(headers or {})

    @property
    def message(self) -> str:
        return str(self)

    def to_xml(self) -> bytes | None:
        """The ``DAV:error`` body, or None for a plain error."""
        if self.element is None:
            return None
        root = etree.Element(names.ERROR, nsmap=names.NSMAP)
        condition = etree.SubElement(root, self.element)
        for child in self.children:
            condition.append(child)
        if self.message:
            # The reason, for people: a comment, because clients take every child
            # element of DAV:error for a condition.
            root.append(etree.Comment(comment_text(self.message)))
        return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def href_element(href: str) -> etree._Element:
    element = etree.Element(names.HREF)
    element.text = xml_chars(href)
    return element


# -- plain HTTP errors (no precondition element) ---------------------------------

class BadRequest(DAVError):
    """The request is malformed."""

    status = 400


class Unauthorized(DAVError):
    """Authentication is required."""

    status = 401


class Forbidden(DAVError):
    """The principal may not do this."""

    status = 403


class NotFound(DAVError):
    """No resource here."""

    status = 404


class MethodNotAllowed(DAVError):
    """This method does not apply to this resource."""

    status = 405


class Conflict(DAVError):
    """The request conflicts with the state of the resource."""

    status = 409


class PreconditionFailed(DAVError):
    """An If-Match, If-None-Match or Overwrite condition failed."""

    status = 412


class PayloadTooLarge(DAVError):
    """The request body is too large."""

    status = 413


class UnsupportedMediaType(DAVError):
    """The body's media type is not supported."""

    status = 415


class BadGateway(DAVError):
    """The destination is on another server (RFC 4918 §9.8.5, §9.9.4)."""

    status = 502


class RequestTimeout(DAVError):
    """The request did not arrive in time (RFC 9110 §15.5.9)."""

    status = 408


class ServiceUnavailable(DAVError):
    """A backend is temporarily unavailable."""

    status = 503


class InsufficientStorage(DAVError):
    """Not enough space."""

    status = 507


# -- RFC 4918 ---------------------------------------------------------------------

class PropfindFiniteDepth(DAVError):
    """Depth: infinity PROPFIND is not supported (RFC 4918 §9.1)."""

    status = 403
    element = names.PROPFIND_FINITE_DEPTH


class CannotModifyProtectedProperty(DAVError):
    """A protected property cannot be set or removed (RFC 4918 §9.2)."""

    status = 403
    element = names.CANNOT_MODIFY_PROTECTED_PROPERTY


class ResourceMustBeNull(DAVError):
    """The target already exists (RFC 4918 §9.3, RFC 4791 §5.3.1)."""

    status = 405
    element = names.RESOURCE_MUST_BE_NULL


class ValidResourcetype(DAVError):
    """Extended MKCOL with an unsupported resourcetype (RFC 5689 §3.3)."""

    status = 403
    element = names.VALID_RESOURCETYPE


class NeedPrivileges(DAVError):
    """The principal lacks a privilege (RFC 3744 §7.1.1)."""

    status = 403
    element = names.NEED_PRIVILEGES


class SupportedReport(DAVError):
    """The report is not supported on this resource (RFC 3253 §3.6)."""

    status = 403
    element = names.SUPPORTED_REPORT_ERROR


class ValidSyncToken(DAVError):
    """The sync-token is unknown or too old (RFC 6578 §3.2)."""

    status = 403
    element = names.VALID_SYNC_TOKEN


class NumberOfMatchesWithinLimits(DAVError):
    """The query matched more results than the server returns (RFC 4918 §16)."""

    status = 507
    element = names.NUMBER_OF_MATCHES_WITHIN_LIMITS


# -- RFC 4791 (CalDAV) ---------------------------------------------------------------

class ValidCalendarData(DAVError):
    """The body is not valid iCalendar (RFC 4791 §5.3.2.1)."""

    status = 403
    element = names.VALID_CALENDAR_DATA


class ValidCalendarObjectResource(DAVError):
    """The iCalendar object breaks a calendar object resource rule (RFC 4791 §4.1)."""

    status = 403
    element = names.VALID_CALENDAR_OBJECT_RESOURCE


class SupportedCalendarComponent(DAVError):
    """The component type is not supported by this calendar (RFC 4791 §5.3.2.1)."""

    status = 403
    element = names.SUPPORTED_CALENDAR_COMPONENT


class SupportedCalendarData(DAVError):
    """The media type is not text/calendar version 2.0 (RFC 4791 §5.3.2.1)."""

    status = 403
    element = names.SUPPORTED_CALENDAR_DATA


class NoUIDConflict(DAVError):
    """Another resource in the calendar has this UID, or the resource replaced has
    another one (RFC 4791 §5.3.2.1).

    Carries the ``DAV:href`` of the resource that holds the UID.
    """

    status = 409
    element = names.NO_UID_CONFLICT

    def __init__(self, existing_href: str) -> None:
        super().__init__(f"UID already used by {existing_href}",
                         children=[href_element(existing_href)])
        self.existing_href = existing_href


class UniqueSchedulingObjectResource(NoUIDConflict):
    """A scheduling object resource elsewhere in the home has this UID (RFC 6638
    §3.2.4.1, which says 403).  Carries its ``DAV:href``."""

    status = 403
    element = names.UNIQUE_SCHEDULING_OBJECT_RESOURCE


class SameOrganizerInAllComponents(DAVError):
    """The components of a scheduling object name different ORGANIZERs, or some none
    (RFC 6638 §3.1, §3.2.4)."""

    status = 403
    element = names.SAME_ORGANIZER_IN_ALL_COMPONENTS


class ValidOrganizer(DAVError):
    """The ORGANIZER is no calendar user address this server can schedule for, or the
    object has attendees but no ORGANIZER (RFC 6638 §3.2.4)."""

    status = 403
    element = names.VALID_ORGANIZER


class AllowedOrganizerChange(DAVError):
    """The organizer may not make this change to a scheduling object (RFC 6638 §3.2.4,
    e.g. changing the ORGANIZER itself)."""

    status = 403
    element = names.ALLOWED_ORGANIZER_SCHEDULING_OBJECT_CHANGE


class AllowedAttendeeChange(DAVError):
    """An attendee changed more of their copy than RFC 6638 §3.2.2.1 allows (their own
    participation, alarms, TRANSP, X- properties, removing instances)."""

    status = 403
    element = names.ALLOWED_ATTENDEE_SCHEDULING_OBJECT_CHANGE


class MaxResourceSize(DAVError):
    """The calendar object is larger than max-resource-size (RFC 4791 §5.3.2.1)."""

    status = 403
    element = names.MAX_RESOURCE_SIZE


class MinDateTime(DAVError):
    """A date is before min-date-time (RFC 4791 §5.3.2.1)."""

    status = 403
    element = names.MIN_DATE_TIME


class MaxDateTime(DAVError):
    """A date is after max-date-time (RFC 4791 §5.3.2.1)."""

    status = 403
    element = names.MAX_DATE_TIME


class MaxInstances(DAVError):
    """The recurrence set has more instances than max-instances (RFC 4791 §5.3.2.1)."""

    status = 403
    element = names.MAX_INSTANCES


class MaxAttendeesPerInstance(DAVError):
    """An instance has more attendees than allowed (RFC 4791 §5.3.2.1)."""

    status = 403
    element = names.MAX_ATTENDEES_PER_INSTANCE


class CalendarCollectionLocationOk(DAVError):
    """A calendar cannot be created here (RFC 4791 §5.3.1)."""

    status = 403
    element = names.CALENDAR_COLLECTION_LOCATION_OK


class ValidResourceName(DAVError):
    """No resource may be created under this name (``hrefs.check_new_name``): 403, the
    request can never succeed (RFC 4791 §1.3)."""

    status = 403
    element = names.VALID_RESOURCE_NAME


class ValidFilter(DAVError):
    """The calendar-query filter is not valid (RFC 4791 §7.8)."""

    status = 403
    element = names.VALID_FILTER


class SupportedFilter(DAVError):
    """The filter uses something this server does not support (RFC 4791 §7.8)."""

    status = 403
    element = names.SUPPORTED_FILTER


class SupportedCollation(DAVError):
    """The text-match collation is not supported (RFC 4791 §7.5.1)."""

    status = 403
    element = names.SUPPORTED_COLLATION


class ValidCalendarTimezone(DAVError):
    """calendar-timezone must be one VTIMEZONE in a VCALENDAR (RFC 4791 §5.2.2)."""

    status = 403
    element = names.VALID_CALENDAR_TIMEZONE


class QuotaNotExceeded(DAVError):
    """The home's quota would be exceeded (RFC 4331 §6)."""

    status = 507
    element = names.QUOTA_NOT_EXCEEDED


class SufficientDiskSpace(DAVError):
    """There is not enough physical space for the request (RFC 4331 §6)."""

    status = 507
    element = names.SUFFICIENT_DISK_SPACE


# -- RFC 8607 (managed attachments) -----------------------------------------------------

class MaxAttachmentSize(DAVError):
    """The attachment is larger than max-attachment-size (RFC 8607)."""

    status = 403
    element = names.MAX_ATTACHMENT_SIZE


class MaxAttachmentsPerResource(DAVError):
    """The instance would carry more attachments than allowed (RFC 8607)."""

    status = 403
    element = names.MAX_ATTACHMENTS_PER_RESOURCE


class ValidManagedIdParameter(DAVError):
    """The managed-id in the request-URI is missing or names no attachment of this
    resource (RFC 8607)."""

    status = 403
    element = names.VALID_MANAGED_ID_PARAMETER


class ValidManagedId(DAVError):
    """The calendar data names a MANAGED-ID the server does not know (RFC 8607)."""

    status = 403
    element = names.VALID_MANAGED_ID


class ValidRidParameter(DAVError):
    """The rid in the request-URI is not a RECURRENCE-ID of the resource (RFC 8607)."""

    status = 403
    element = names.VALID_RID_PARAMETER


class ValidActionParameter(DAVError):
    """The action in the request-URI is missing or unknown (Apple's element for RFC 8607 POSTs)."""

    status = 403
    element = names.VALID_ACTION_PARAMETER


# -- RFC 6638 §5 (POST of a VFREEBUSY request to the scheduling Outbox) ---------------

class ValidSchedulingMessage(DAVError):
    """The iCalendar object is no scheduling message this request may carry: for a
    free-busy POST, one VFREEBUSY with METHOD:REQUEST, ORGANIZER, DTSTART, DTEND, UID
    and DTSTAMP (RFC 6638 §5, RFC 5546 §3.3.2)."""

    status = 403
    element = names.VALID_SCHEDULING_MESSAGE


class OrganizerAllowed(DAVError):
    """The ORGANIZER is not a calendar user address of the Outbox's owner (RFC 6638 §5)."""

    status = 403
    element = names.ORGANIZER_ALLOWED


class OriginatorAllowed(DAVError):
    """The authenticated principal may not send scheduling messages at all (a record
    not enabled for calendaring, RFC 6638 §5)."""

    status = 403
    element = names.ORIGINATOR_ALLOWED


class RecipientSpecified(DAVError):
    """The message names no recipient: a free-busy request needs at least one ATTENDEE
    (RFC 6638 §5)."""

    status = 403
    element = names.RECIPIENT_SPECIFIED


class RecipientLimit(DAVError):
    """More recipients than MaxAttendeesPerInstance allows (Apple's element for this
    limit of RFC 6638 §5 requests)."""

    status = 403
    element = names.RECIPIENT_LIMIT


# -- caldavd's own limits (README "Security and limits") ---------------------------------

class ValidScheduleDefaultCalendarURL(DAVError):
    """schedule-default-calendar-URL may name only a calendar of the inbox owner's home
    that takes VEVENTs (RFC 6638 §9.2); the client can name another (409)."""

    status = 409
    element = names.VALID_SCHEDULE_DEFAULT_CALENDAR_URL


class DefaultCalendarNeeded(DAVError):
    """The calendar is the home's default for scheduling deliveries and no other could
    take its place (RFC 6638 §9.2.1)."""

    status = 403
    element = names.DEFAULT_CALENDAR_NEEDED


class MaxPropertiesPerRequest(DAVError):
    """The body names more properties than MaxPropertiesPerRequest allows."""

    status = 403
    element = names.MAX_PROPERTIES_PER_REQUEST


class MaxExpandProperty(DAVError):
    """The expand-property REPORT has more or deeper DAV:property elements than allowed."""

    status = 403
    element = names.MAX_EXPAND_PROPERTY


class MaxDeadProperties(DAVError):
    """The resource would carry more dead properties, or more bytes of them, than allowed;
    507 as RFC 4918 §9.2.1 has it for a property the server has no room to record."""

    status = 507
    element = names.MAX_DEAD_PROPERTIES
