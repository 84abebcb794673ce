"""XML names: the only place namespaces and Clark names are spelled.

Every other module imports these constants; a typo here is one fix, not a
hunt (a hand-typed namespace string is how servers ship broken names).
"""

from __future__ import annotations

DAV_NS = "DAV:"
CALDAV_NS = "urn:ietf:params:xml:ns:caldav"
CS_NS = "http://calendarserver.org/ns/"
ICAL_NS = "http://apple.com/ns/ical/"
# caldavd's own preconditions, for limits no RFC names (kept out of NSMAP: they only
# occur in DAV:error bodies, where lxml declares the namespace on the element).
CALDAVD_NS = "urn:x-caldavd:ns"

NSMAP: dict[str, str] = {"D": DAV_NS, "C": CALDAV_NS, "CS": CS_NS, "A": ICAL_NS}


def dav(local: str) -> str:
    return f"{{{DAV_NS}}}{local}"


def caldav(local: str) -> str:
    return f"{{{CALDAV_NS}}}{local}"


def cs(local: str) -> str:
    return f"{{{CS_NS}}}{local}"


def ical(local: str) -> str:
    return f"{{{ICAL_NS}}}{local}"


def caldavd(local: str) -> str:
    return f"{{{CALDAVD_NS}}}{local}"


# -- RFC 4918 (WebDAV) ------------------------------------------------------
MULTISTATUS = dav("multistatus")
RESPONSE = dav("response")
HREF = dav("href")
STATUS = dav("status")
PROPSTAT = dav("propstat")
PROP = dav("prop")
ERROR = dav("error")
RESPONSEDESCRIPTION = dav("responsedescription")
PROPFIND = dav("propfind")
PROPNAME = dav("propname")
ALLPROP = dav("allprop")
INCLUDE = dav("include")
PROPERTYUPDATE = dav("propertyupdate")
SET = dav("set")
REMOVE = dav("remove")
MKCOL = dav("mkcol")
MKCOL_RESPONSE = dav("mkcol-response")
COLLECTION = dav("collection")
RESOURCETYPE = dav("resourcetype")
DISPLAYNAME = dav("displayname")
GETETAG = dav("getetag")
GETCONTENTTYPE = dav("getcontenttype")
GETCONTENTLENGTH = dav("getcontentlength")
GETLASTMODIFIED = dav("getlastmodified")
CREATIONDATE = dav("creationdate")
GETCONTENTLANGUAGE = dav("getcontentlanguage")
SUPPORTEDLOCK = dav("supportedlock")
LOCKDISCOVERY = dav("lockdiscovery")
PROPFIND_FINITE_DEPTH = dav("propfind-finite-depth")
CANNOT_MODIFY_PROTECTED_PROPERTY = dav("cannot-modify-protected-property")
RESOURCE_MUST_BE_NULL = dav("resource-must-be-null")
VALID_RESOURCETYPE = dav("valid-resourcetype")

# -- RFC 3744 (ACL) and RFC 5397 ----------------------------------------------
OWNER = dav("owner")
GROUP = dav("group")
PRINCIPAL = dav("principal")
PRINCIPAL_URL = dav("principal-URL")
CURRENT_USER_PRINCIPAL = dav("current-user-principal")
CURRENT_USER_PRIVILEGE_SET = dav("current-user-privilege-set")
SUPPORTED_PRIVILEGE_SET = dav("supported-privilege-set")
SUPPORTED_PRIVILEGE = dav("supported-privilege")
PRIVILEGE = dav("privilege")
ABSTRACT = dav("abstract")
DESCRIPTION = dav("description")
ACL = dav("acl")
ACE = dav("ace")
GRANT = dav("grant")
DENY = dav("deny")
PROTECTED = dav("protected")
INHERITED = dav("inherited")
ALL = dav("all")
AUTHENTICATED = dav("authenticated")
UNAUTHENTICATED = dav("unauthenticated")
SELF = dav("self")
READ = dav("read")
WRITE = dav("write")
WRITE_PROPERTIES = dav("write-properties")
WRITE_CONTENT = dav("write-content")
UNLOCK = dav("unlock")
READ_ACL = dav("read-acl")
WRITE_ACL = dav("write-acl")
READ_CURRENT_USER_PRIVILEGE_SET = dav("read-current-user-privilege-set")
BIND = dav("bind")
UNBIND = dav("unbind")
NEED_PRIVILEGES = dav("need-privileges")
RESOURCE = dav("resource")
ALTERNATE_URI_SET = dav("alternate-URI-set")
GROUP_MEMBER_SET = dav("group-member-set")
GROUP_MEMBERSHIP = dav("group-membership")
PRINCIPAL_COLLECTION_SET = dav("principal-collection-set")
PRINCIPAL_PROPERTY_SEARCH = dav("principal-property-search")
PRINCIPAL_SEARCH_PROPERTY_SET = dav("principal-search-property-set")
PRINCIPAL_SEARCH_PROPERTY = dav("principal-search-property")
PROPERTY_SEARCH = dav("property-search")
MATCH = dav("match")
APPLY_TO_PRINCIPAL_COLLECTION_SET = dav("apply-to-principal-collection-set")

# -- RFC 3253 (versioning: reports, expand-property) ---------------------------
SUPPORTED_REPORT_SET = dav("supported-report-set")
SUPPORTED_REPORT = dav("supported-report")
REPORT = dav("report")
EXPAND_PROPERTY = dav("expand-property")
PROPERTY = dav("property")
SUPPORTED_REPORT_ERROR = dav("supported-report")

# -- RFC 6578 (sync) and RFC 4331 (quota) ---------------------------------------
SYNC_COLLECTION = dav("sync-collection")
SYNC_TOKEN = dav("sync-token")
SYNC_LEVEL = dav("sync-level")
LIMIT = dav("limit")
NRESULTS = dav("nresults")
VALID_SYNC_TOKEN = dav("valid-sync-token")
NUMBER_OF_MATCHES_WITHIN_LIMITS = dav("number-of-matches-within-limits")
QUOTA_AVAILABLE_BYTES = dav("quota-available-bytes")
QUOTA_USED_BYTES = dav("quota-used-bytes")
QUOTA_NOT_EXCEEDED = dav("quota-not-exceeded")
SUFFICIENT_DISK_SPACE = dav("sufficient-disk-space")
ADD_MEMBER = dav("add-member")

# -- RFC 4791 (CalDAV) ----------------------------------------------------------
CALENDAR = caldav("calendar")
MKCALENDAR = caldav("mkcalendar")
MKCALENDAR_RESPONSE = caldav("mkcalendar-response")
CALENDAR_DESCRIPTION = caldav("calendar-description")
CALENDAR_TIMEZONE = caldav("calendar-timezone")
SUPPORTED_CALENDAR_COMPONENT_SET = caldav("supported-calendar-component-set")
SUPPORTED_CALENDAR_DATA = caldav("supported-calendar-data")
MAX_RESOURCE_SIZE = caldav("max-resource-size")
MIN_DATE_TIME = caldav("min-date-time")
MAX_DATE_TIME = caldav("max-date-time")
MAX_INSTANCES = caldav("max-instances")
MAX_ATTENDEES_PER_INSTANCE = caldav("max-attendees-per-instance")
CALENDAR_HOME_SET = caldav("calendar-home-set")
CALENDAR_USER_ADDRESS_SET = caldav("calendar-user-address-set")
CALENDAR_USER_TYPE = caldav("calendar-user-type")
SCHEDULE_INBOX_URL = caldav("schedule-inbox-URL")
SCHEDULE_OUTBOX_URL = caldav("schedule-outbox-URL")
SCHEDULE_CALENDAR_TRANSP = caldav("schedule-calendar-transp")
# Apple's default alarms (caldav-defaultalarms): VALARMs for new events and to-dos.
DEFAULT_ALARMS = tuple(caldav(f"default-alarm-{kind}-{value}")
                       for kind in ("vevent", "vtodo") for value in ("datetime", "date"))
SCHEDULE_DEFAULT_CALENDAR_URL = caldav("schedule-default-calendar-URL")
SCHEDULE_TAG = caldav("schedule-tag")  # RFC 6638 §9.3
OPAQUE = caldav("opaque")
TRANSPARENT = caldav("transparent")
COMP = caldav("comp")
ALLCOMP = caldav("allcomp")
ALLPROP_CALDAV = caldav("allprop")
CALDAV_PROP = caldav("prop")
CALENDAR_DATA = caldav("calendar-data")
EXPAND = caldav("expand")
LIMIT_RECURRENCE_SET = caldav("limit-recurrence-set")
LIMIT_FREEBUSY_SET = caldav("limit-freebusy-set")
CALENDAR_QUERY = caldav("calendar-query")
CALENDAR_MULTIGET = caldav("calendar-multiget")
FREE_BUSY_QUERY = caldav("free-busy-query")
FILTER = caldav("filter")
COMP_FILTER = caldav("comp-filter")
PROP_FILTER = caldav("prop-filter")
PARAM_FILTER = caldav("param-filter")
IS_NOT_DEFINED = caldav("is-not-defined")
TEXT_MATCH = caldav("text-match")
TIME_RANGE = caldav("time-range")
TIMEZONE = caldav("timezone")
CALDAV_TIMEZONE = TIMEZONE
VALID_CALENDAR_DATA = caldav("valid-calendar-data")
VALID_CALENDAR_OBJECT_RESOURCE = caldav("valid-calendar-object-resource")
SUPPORTED_CALENDAR_COMPONENT = caldav("supported-calendar-component")
NO_UID_CONFLICT = caldav("no-uid-conflict")
UNIQUE_SCHEDULING_OBJECT_RESOURCE = caldav("unique-scheduling-object-resource")
# RFC 6638 §3.2.4: the other preconditions of a PUT, COPY or MOVE of a scheduling object
SAME_ORGANIZER_IN_ALL_COMPONENTS = caldav("same-organizer-in-all-components")
ALLOWED_ORGANIZER_SCHEDULING_OBJECT_CHANGE = caldav("allowed-organizer-scheduling-object-change")
ALLOWED_ATTENDEE_SCHEDULING_OBJECT_CHANGE = caldav("allowed-attendee-scheduling-object-change")
VALID_ORGANIZER = caldav("valid-organizer")
# RFC 6638 §2, §6, §9: the scheduling collections, their privileges and preconditions.
SCHEDULE_INBOX = caldav("schedule-inbox")
SCHEDULE_OUTBOX = caldav("schedule-outbox")
SCHEDULE_DELIVER = caldav("schedule-deliver")
SCHEDULE_DELIVER_INVITE = caldav("schedule-deliver-invite")
SCHEDULE_DELIVER_REPLY = caldav("schedule-deliver-reply")
SCHEDULE_QUERY_FREEBUSY = caldav("schedule-query-freebusy")
SCHEDULE_SEND = caldav("schedule-send")
SCHEDULE_SEND_INVITE = caldav("schedule-send-invite")
SCHEDULE_SEND_REPLY = caldav("schedule-send-reply")
SCHEDULE_SEND_FREEBUSY = caldav("schedule-send-freebusy")
VALID_SCHEDULE_DEFAULT_CALENDAR_URL = caldav("valid-schedule-default-calendar-URL")
DEFAULT_CALENDAR_NEEDED = caldav("default-calendar-needed")
CALENDAR_COLLECTION_LOCATION_OK = caldav("calendar-collection-location-ok")
VALID_FILTER = caldav("valid-filter")
SUPPORTED_FILTER = caldav("supported-filter")
SUPPORTED_COLLATION = caldav("supported-collation")
VALID_CALENDAR_TIMEZONE = caldav("valid-calendar-timezone")

# -- RFC 8607 (managed attachments) ----------------------------------------------
MANAGED_ATTACHMENTS_SERVER_URL = caldav("managed-attachments-server-URL")
MAX_ATTACHMENT_SIZE = caldav("max-attachment-size")
MAX_ATTACHMENTS_PER_RESOURCE = caldav("max-attachments-per-resource")
VALID_MANAGED_ID_PARAMETER = caldav("valid-managed-id-parameter")
VALID_MANAGED_ID = caldav("valid-managed-id")
VALID_RID_PARAMETER = caldav("valid-rid-parameter")
VALID_ACTION_PARAMETER = caldav("valid-action-parameter")  # Apple's, for a bad action
MIN_DATE_TIME_PRECONDITION = MIN_DATE_TIME
MAX_DATE_TIME_PRECONDITION = MAX_DATE_TIME
CALENDAR_DATA_TYPE = caldav("calendar-data")  # child of supported-calendar-data
SUPPORTED_CALENDAR_DATA_PRECONDITION = SUPPORTED_CALENDAR_DATA

# -- RFC 6638 §5 (free-busy through the scheduling Outbox) -------------------------
SCHEDULE_RESPONSE = caldav("schedule-response")
SCHEDULE_RESPONSE_RESPONSE = caldav("response")  # CALDAV:response, RFC 6638 §10.2
RECIPIENT = caldav("recipient")
REQUEST_STATUS = caldav("request-status")
VALID_SCHEDULING_MESSAGE = caldav("valid-scheduling-message")
ORGANIZER_ALLOWED = caldav("organizer-allowed")
ORIGINATOR_ALLOWED = caldav("originator-allowed")
RECIPIENT_SPECIFIED = caldav("recipient-specified")
RECIPIENT_LIMIT = caldav("recipient-limit")  # Apple's, beyond MaxAttendeesPerInstance

# -- Apple / calendarserver.org extensions ---------------------------------------
GETCTAG = cs("getctag")
CALENDAR_COLOR = ical("calendar-color")
CALENDAR_ORDER = ical("calendar-order")
EMAIL_ADDRESS_SET = cs("email-address-set")
FIRST_NAME = cs("first-name")
LAST_NAME = cs("last-name")
RECORD_TYPE = cs("record-type")
CALENDAR_PROXY_READ_FOR = cs("calendar-proxy-read-for")
CALENDAR_PROXY_WRITE_FOR = cs("calendar-proxy-write-for")
# Resource types of the proxy group principals (Apple's calendarserver.org extension).
CALENDAR_PROXY_READ = cs("calendar-proxy-read")
CALENDAR_PROXY_WRITE = cs("calendar-proxy-write")

# -- caldavd's limits (README "Security and limits") ------------------------------
MAX_PROPERTIES_PER_REQUEST = caldavd("max-properties-per-request")
MAX_EXPAND_PROPERTY = caldavd("max-expand-property")
MAX_DEAD_PROPERTIES = caldavd("max-dead-properties")
# A resource may not be created or renamed to a name with a control character.
VALID_RESOURCE_NAME = caldavd("valid-resource-name")

# -- XML itself and unqualified attributes --------------------------------------
XML_NS = "http://www.w3.org/XML/1998/namespace"
XML_LANG = f"{{{XML_NS}}}lang"
ATTR_NAME = "name"  # DAV:property (RFC 3253 §3.8)
ATTR_NAMESPACE = "namespace"  # DAV:property (RFC 3253 §3.8)
ATTR_TEST = "test"  # DAV:principal-property-search (calendarserver extension)
ATTR_MATCH_TYPE = "match-type"  # DAV:match (calendarserver extension)
