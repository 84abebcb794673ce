"""What the calendar REPORTs share: rendering objects with requested calendar-data."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from lxml import etree

from caldavd.caldav.data import DataRequest, parse_calendar_data_request, render
from caldavd.dav import names
from caldavd.dav.requests import Propfind
from caldavd.http.propfind import object_resource
from caldavd.http.resources import CalendarResource, ObjectResource
from caldavd.store import CalendarObject


def calendar_data_request(root: etree._Element) -> DataRequest:
    """The CALDAV:calendar-data element inside the report's DAV:prop, parsed."""
    prop = root.find(names.PROP)
    found = prop.find(names.CALENDAR_DATA) if prop is not None else None
    return parse_calendar_data_request(found)


def wants_data(request: Propfind) -> bool:
    return names.CALENDAR_DATA in request.names


def rendered(calendar: CalendarResource, objects: Iterable[CalendarObject],
             data: DataRequest) -> list[ObjectResource]:
    """Object resources whose calendar-data is what the request selected."""
    result = []
    for obj in objects:
        if obj.icalendar is not None and not data.is_identity:
            obj = dataclasses.replace(obj, icalendar=render(obj.icalendar, data))
        result.append(object_resource(calendar, obj))
    return result
