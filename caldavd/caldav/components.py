"""The calendar component types a calendar collection holds (RFC 4791 §5.2.3,
supported-calendar-component-set): the one spelling every layer uses."""

from __future__ import annotations

from typing import Final

CALENDAR_COMPONENTS: Final[tuple[str, ...]] = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY")
