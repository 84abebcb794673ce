"""The limits a calendar collection advertises and every write is held to
(RFC 4791 §5.2.5-§5.2.9), from the configuration: one place for PUT and for the
copies scheduling writes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from caldavd.caldav.components import CALENDAR_COMPONENTS
from caldavd.caldav.ical import Limits
from caldavd.config import Config

# RFC 4791 §5.2.6/§5.2.7: the range of dates the server accepts.
MIN_DATE_TIME = datetime(1900, 1, 1, tzinfo=UTC)
MAX_DATE_TIME = datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)


def limits(config: Config, supported_components: Collection[str] | None) -> Limits:
    """The limits of a calendar taking ``supported_components`` (None: every type)."""
    return Limits(
        max_resource_size=config.MaxResourceSize,
        min_date_time=MIN_DATE_TIME,
        max_date_time=MAX_DATE_TIME,
        max_instances=config.MaxAllowedInstances,
        max_attendees_per_instance=config.MaxAttendeesPerInstance,
        supported_components=frozenset(supported_components or CALENDAR_COMPONENTS),
    )
