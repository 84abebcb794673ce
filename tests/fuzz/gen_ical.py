"""Mutated iCalendar bodies for PUT: structure, properties, parameters, values, RRULEs,
duplicate components, time zones, control characters, huge values, line endings.

Each request starts from one of the valid objects of ``targets.calendars`` as a list
of content lines; line operators mutate the list, byte operators the text.
"""

from __future__ import annotations

import random

from tests.fuzz import targets as t
from tests.fuzz.client import Request
from tests.fuzz.mutate import NASTY_DATES, Registry, control_text, nasty_text, pick
from tests.fuzz.server import basic

Lines = list[str]
line_ops = Registry()
text_ops = Registry()

PROPERTIES = [
    "SUMMARY:{v}", "DESCRIPTION:{v}", "LOCATION:{v}", "UID:{v}", "DTSTART:{d}", "DTEND:{d}",
    "DUE:{d}", "RECURRENCE-ID:{d}", "EXDATE:{d}", "RDATE:{d}", "DTSTART;VALUE=DATE:{d}",
    "DTSTART;TZID=Europe/Fuzz:{d}", "DTSTART;TZID=Nowhere/City:{d}", "DURATION:{v}",
    "RDATE;VALUE=PERIOD:{d}/{d}", "RDATE;VALUE=PERIOD:{d}/PT1H", "SEQUENCE:{v}",
    "PRIORITY:{v}", "STATUS:{v}", "TRANSP:{v}", "CLASS:{v}", "GEO:{v}", "URL:{v}",
    "ATTENDEE;CN={v}:mailto:fuzz02@example.com", "ORGANIZER:mailto:{v}",
    "ATTACH;VALUE=BINARY;ENCODING=BASE64:{v}", "X-FZ;X-P={v}:{v}", "CATEGORIES:{v},{v}",
    "TRIGGER:{v}", "TZOFFSETFROM:{v}", "RELATED-TO;RELTYPE={v}:{v}", "VERSION:{v}",
    "METHOD:{v}", "CALSCALE:{v}", "DTSTAMP:{d}", "LAST-MODIFIED:{d}", "CREATED:{d}",
    "REQUEST-STATUS:{v}", "FREEBUSY:{d}/{d}", "COMPLETED:{d}", "PERCENT-COMPLETE:{v}",
]
RRULES = [
    "FREQ=SECONDLY;COUNT=5", "FREQ=MINUTELY;INTERVAL=0", "FREQ=DAILY;COUNT=0",
    "FREQ=DAILY;COUNT=-1", "FREQ=DAILY;COUNT=99999999", "FREQ=DAILY;UNTIL=20200101T000000Z",
    "FREQ=DAILY;UNTIL=20260110", "FREQ=MONTHLY;BYSETPOS=0;BYDAY=MO", "FREQ=YEARLY;BYDAY=53MO",
    "FREQ=YEARLY;BYWEEKNO=-53", "FREQ=YEARLY;BYYEARDAY=366", "FREQ=WEEKLY;WKST=XX",
    "FREQ=DAILY;BYHOUR=25", "FREQ=DAILY;COUNT=3;UNTIL=20260110T000000Z", "FREQ=", "",
    "FREQ=HOURLY", "FREQ=DAILY;INTERVAL=99999999", "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=3", "FREQ=WEEKLY;BYDAY=MO,MO,MO",
    "FREQ=DAILY;;COUNT=2", "freq=daily;count=2", "FREQ=DAILY;X-FZ=1;COUNT=2",
    "FREQ=MINUTELY;BYSECOND=0,15,30,45;COUNT=20",
]
FAR_RRULES = ["FREQ=DAILY;UNTIL=99991231T235959Z", "FREQ=SECONDLY",
              "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"]


def _value(rng: random.Random, template: str) -> str:
    while "{d}" in template:
        template = template.replace("{d}", pick(rng, NASTY_DATES), 1)
    while "{v}" in template:
        template = template.replace("{v}", nasty_text(rng, controls=False), 1)
    return template


def _component_bounds(rng: random.Random, lines: Lines) -> tuple[int, int] | None:
    begins = [i for i, line in enumerate(lines) if line.startswith("BEGIN:") and i > 0]
    if not begins:
        return None
    start = pick(rng, begins)
    name = lines[start][6:]
    for end in range(start + 1, len(lines)):
        if lines[end] == f"END:{name}":
            return start, end
    return None


@line_ops.register("ical-drop-line")
def _drop(rng: random.Random, lines: Lines) -> Lines:
    del lines[rng.randrange(len(lines))]
    return lines


@line_ops.register("ical-duplicate-line")
def _duplicate(rng: random.Random, lines: Lines) -> Lines:
    at = rng.randrange(len(lines))
    return [*lines[:at], lines[at], *lines[at:]]


@line_ops.register("ical-swap-lines")
def _swap(rng: random.Random, lines: Lines) -> Lines:
    a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[a], lines[b] = lines[b], lines[a]
    return lines


@line_ops.register("ical-insert-property")
def _insert(rng: random.Random, lines: Lines) -> Lines:
    at = rng.randrange(1, len(lines)) if len(lines) > 1 else 0
    return [*lines[:at], _value(rng, pick(rng, PROPERTIES)), *lines[at:]]


@line_ops.register("ical-replace-value")
def _replace_value(rng: random.Random, lines: Lines) -> Lines:
    at = rng.randrange(len(lines))
    name = lines[at].split(":", 1)[0]
    value = pick(rng, NASTY_DATES) if rng.random() < 0.5 else nasty_text(rng, controls=False)
    lines[at] = f"{name}:{value}"
    return lines


@line_ops.register("ical-parameter")
def _parameter(rng: random.Random, lines: Lines) -> Lines:
    at = rng.randrange(len(lines))
    name, _, value = lines[at].partition(":")
    parameter = pick(rng, ["TZID=Nowhere/City", "TZID=Europe/Fuzz", "VALUE=DATE", "VALUE=PERIOD",
                           "VALUE=FZ", 'CN="unterminated', 'CN="a:b;c"', "X-P=" + "p" * 3000,
                           "ENCODING=BASE64", "RANGE=THISANDFUTURE", "RELATED=END", "=", ";",
                           "TZID=", "LANGUAGE=\u00e9\u00e9"])
    lines[at] = f"{name};{parameter}:{value}"
    return lines


@line_ops.register("ical-rrule")
def _rrule(rng: random.Random, lines: Lines) -> Lines:
    return _add_after_dtstart(lines, "RRULE:" + pick(rng, RRULES))


@line_ops.register("ical-far-future-rrule")
def _far_rrule(rng: random.Random, lines: Lines) -> Lines:
    return _add_after_dtstart(lines, "RRULE:" + pick(rng, FAR_RRULES))


def _add_after_dtstart(lines: Lines, line: str) -> Lines:
    at = next((i for i, x in enumerate(lines) if x.startswith("DTSTART")), len(lines) - 1)
    return [*lines[:at + 1], line, *lines[at + 1:]]


@line_ops.register("ical-duplicate-component")
def _duplicate_component(rng: random.Random, lines: Lines) -> Lines:
    bounds = _component_bounds(rng, lines)
    if bounds is None or lines[bounds[0]] == "BEGIN:VTIMEZONE":
        return lines
    start, end = bounds
    return [*lines[:end + 1], *lines[start:end + 1], *lines[end + 1:]]


@line_ops.register("ical-duplicate-vtimezone")
def _duplicate_timezone(rng: random.Random, lines: Lines) -> Lines:
    zone = t.TZ.rstrip("\r\n").split("\r\n")
    if rng.random() < 0.5:
        zone = [line.replace("+0100", "+0000") for line in zone]
    return [*lines[:3], *zone, *zone, *lines[3:]]


@line_ops.register("ical-drop-component")
def _drop_component(rng: random.Random, lines: Lines) -> Lines:
    bounds = _component_bounds(rng, lines)
    if bounds is None:
        return lines
    return lines[:bounds[0]] + lines[bounds[1] + 1:]


@line_ops.register("ical-rename-component")
def _rename_component(rng: random.Random, lines: Lines) -> Lines:
    at = rng.choice([i for i, x in enumerate(lines) if x.startswith(("BEGIN:", "END:"))])
    kind = lines[at].split(":", 1)[0]
    lines[at] = f"{kind}:" + pick(rng, ["VTODO", "VEVENT", "VFREEBUSY", "VALARM", "X-FZ", "",
                                        "VCALENDAR", "VJOURNAL", "STANDARD", "vevent"])
    return lines


@line_ops.register("ical-huge-value")
def _huge(rng: random.Random, lines: Lines) -> Lines:
    size = pick(rng, [10_000, 200_000, 1_100_000])
    return [*lines[:-2], "X-HUGE:" + "x" * size, *lines[-2:]]


@line_ops.register("ical-many-lines")
def _many(rng: random.Random, lines: Lines) -> Lines:
    count = pick(rng, [200, 2000])
    extra = [f"ATTENDEE:mailto:a{n}@example.com" if rng.random() < 0.5 else f"X-N{n}:{n}"
             for n in range(count)]
    return [*lines[:-2], *extra, *lines[-2:]]


@line_ops.register("control-chars-in-text")
def _control_value(rng: random.Random, lines: Lines) -> Lines:
    at = rng.randrange(len(lines))
    lines[at] += control_text(rng)
    return lines


@text_ops.register("ical-line-endings")
def _endings(rng: random.Random, text: str) -> str:
    return text.replace("\r\n", pick(rng, ["\n", "\r", "\r\r\n", "\n\r"]))


@text_ops.register("ical-folding")
def _folding(rng: random.Random, text: str) -> str:
    at = rng.randrange(len(text))
    return text[:at] + pick(rng, ["\r\n ", "\r\n\t", "\r\n  \r\n ", "\r\n"]) + text[at:]


@text_ops.register("ical-truncate")
def _truncate(rng: random.Random, text: str) -> str:
    return text[:rng.randrange(len(text))]


def body_of(rng: random.Random, uid: str, tags: list[str]) -> bytes:
    lines = pick(rng, t.calendars(uid)).rstrip("\r\n").split("\r\n")
    lines = line_ops.apply(rng, lines, pick(rng, [1, 1, 1, 2, 3]), tags)
    text = "\r\n".join(lines) + "\r\n"
    if rng.random() < 0.15:
        text = text_ops.apply(rng, text, 1, tags)
    if rng.random() < 0.03:
        return text.encode("utf-16") if rng.random() < 0.5 else text.encode() + b"\xff\xfe"
    return text.encode()


def generate(rng: random.Random, index: int) -> Request:
    uid = pick(rng, [f"fz-{index}", f"fz-{index}", "seed-uid-0", "seed-uid-3", "\u00e9-uid",
                     "x" * 300, nasty_text(rng, controls=False) or "empty"])
    tags: list[str] = []
    body = body_of(rng, uid, tags)
    target = pick(rng, [f"{t.CAL}fz-{index}.ics"] * 3 + [f"{t.CAL2}fz-{index}.ics"] * 3 + [
                        pick(rng, t.SEEDS), f"{t.OTHER_CAL}fz-{index}.ics",
                        f"{t.HOME}fz-{index}.ics", f"{t.PLAIN}fz-{index}.ics"])
    headers = [("Authorization", basic("fuzz01")),
               ("Content-Type", b"text/calendar; charset=utf-8")]
    if rng.random() < 0.2:
        headers.append(pick(rng, [("If-None-Match", b"*"), ("If-Match", b'"nope"'),
                                  ("If-Match", b"*")]))
    return Request("PUT", target.encode(), headers, body, family="ical", index=index, tags=tags)
